// A follower's server stream served by the leader (ServiceLogs: only the leader talks to
// the agents): the same request to the leader's Control API, each message passed on as it
// comes, with backpressure both ways; the client's cancel reaches the leader, and the
// leader's status comes back as the leader gave it.
import { Metadata, status, type ServerWritableStream, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import type { ControlClient, ControlServer } from '../../proto/gen/shoal.js';
import type { StreamCall } from '../service-proxy.js';

export function pipeFromLeader(client: ControlClient, call: StreamCall<ControlServer>): void {
  const def = call.definition;
  const down = call.call as ServerWritableStream<unknown, unknown>;
  const up = client.makeServerStreamRequest(
    def.path,
    (value: unknown) => def.requestSerialize(value),
    (bytes: Buffer) => def.responseDeserialize(bytes),
    down.request,
    new Metadata(),
    {},
  );
  let ended: StatusObject | undefined;
  let done = false;
  const finish = () => {
    if (done || ended === undefined) return;
    done = true;
    if (ended.code === status.OK) down.end();
    else {
      const err: Partial<ServiceError> = { code: ended.code, details: ended.details, metadata: ended.metadata };
      down.emit('error', err);
    }
  };
  up.on('data', (msg: unknown) => {
    if (!down.write(msg)) {
      up.pause();
      down.once('drain', () => up.resume());
    }
  });
  up.on('error', () => {}); // the status says it all
  // 'status' may come before the last messages are read: finish once they are ('end').
  up.on('status', (s: StatusObject) => {
    ended = s;
    if (up.readableEnded) finish();
  });
  up.on('end', finish);
  up.on('close', finish);
  const cancel = () => {
    done = true;
    up.cancel();
  };
  down.on('cancelled', cancel);
  down.on('error', cancel);
}
