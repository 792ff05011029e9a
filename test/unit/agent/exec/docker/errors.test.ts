// Docker's errors, converted once into the executor's typed errors (agent/exec/docker/errors.ts).
import test from 'ava';
import { dockerMessage, fromDocker, fromPull } from '../../../../../agent/exec/docker/errors.js';
import { ConflictError, ImageError, NotFoundError, UnavailableError } from '../../../../../agent/exec/errors.js';

test('docker errors are converted once, with the engine message', (t) => {
  const notFound = Object.assign(new Error('(HTTP code 404) no such container - No such container: abc '), {
    statusCode: 404,
    json: { message: 'No such container: abc' },
  });
  const e = fromDocker(notFound, 'start container abc');
  t.true(e instanceof NotFoundError);
  t.is(e.message, 'start container abc: No such container: abc');
  t.false(e.retryable);
  t.is(e.cause, notFound);
  t.true(fromDocker(Object.assign(new Error('conflict'), { statusCode: 409 }), 'x') instanceof ConflictError);
  const down = fromDocker(
    Object.assign(new Error('connect ECONNREFUSED /x.sock'), { code: 'ECONNREFUSED' }),
    'docker info',
  );
  t.true(down instanceof UnavailableError);
  t.true(down.retryable);
  t.is(dockerMessage(new Error('(HTTP code 500) server error - driver failed ')), 'driver failed');
  const pull = fromPull(
    Object.assign(new Error('x'), { statusCode: 404, json: { message: 'pull access denied for nope' } }),
    'nope',
  );
  t.true(pull instanceof ImageError);
  t.is(pull.message, 'image "nope": pull access denied for nope');
  t.true(
    fromPull(Object.assign(new Error('x'), { code: 'ECONNRESET' }), 'nope').retryable,
    "an engine restart is not the image's fault",
  );
});
