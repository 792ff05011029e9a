// Serves a gRPC service by handing each call to whoever should answer it: the one place
// that walks a service definition (ts-proto's `XxxService`) and wraps every method, unary
// calls and streams alike. The router gets one typed value per call and either delegates
// it to an implementation of the same service, answers it, or refuses it. Built on it:
// the Control router (controlapi/router.ts: reads, writes forwarded to the leader, local
// calls) and the Dispatcher router (dispatcher/router.ts: every call to the leader's term).
import type {
  ServerDuplexStream,
  ServerReadableStream,
  ServerUnaryCall,
  ServerWritableStream,
  ServiceError,
  UntypedServiceImplementation,
  sendUnaryData,
} from '@grpc/grpc-js';
import type { ServerSurfaceCall } from '@grpc/grpc-js/build/src/server-call.js';

/** The method names of a service implementation (`ControlServer`), without grpc-js's index signature. */
export type MethodName<S> = Extract<
  keyof { [K in keyof S as string extends K ? never : number extends K ? never : K]: S[K] },
  string
>;

/** What the proxy needs of one method's definition (ts-proto's `ControlService.createService`). */
export interface MethodShape {
  readonly path: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
  // method syntax: a definition of any request and response type fits
  requestSerialize(value: unknown): Buffer;
  responseDeserialize(bytes: Buffer): unknown;
}

/**
 * Per method of a service definition `D`, how a router serves it: one of `R`, and for a
 * method with a stream on either side one of `StreamR` (a stream cannot be forwarded).
 * The routers' tables (controlapi/routes.ts, dispatcher/router.ts) have this type, so a
 * method added to the service and missing from its table fails the typecheck.
 */
export type RouteTable<D, R extends string, StreamR extends R = R> = {
  readonly [M in keyof D]: D[M] extends { requestStream: false; responseStream: false } ? R : StreamR;
};

/** A service definition that has exactly the methods of the implementation `S`. */
export type DefinitionOf<S> = { readonly [M in MethodName<S>]: MethodShape };

interface CallBase<S, M extends MethodName<S>> {
  readonly method: M;
  readonly definition: MethodShape;
  /** grpc-js's call itself: its peer, its client certificate (getAuthContext), a server stream's request. */
  readonly call: ServerSurfaceCall;
  /** Hands the call, as it came, to the same method of `impl`. */
  delegate(impl: Pick<S, M>): void;
  /** Ends the call with this status (a unary call's callback, a stream's 'error' event). */
  refuse(err: Partial<ServiceError>): void;
}

/** A unary call: its request and its answer, for a router that forwards it. */
export interface UnaryCall<S, M extends MethodName<S> = MethodName<S>> extends CallBase<S, M> {
  readonly kind: 'unary';
  readonly request: unknown;
  reply(err: Partial<ServiceError> | null, res?: unknown): void;
}

/** A call with a stream on either side: it can be delegated or refused, not forwarded. */
export interface StreamCall<S, M extends MethodName<S> = MethodName<S>> extends CallBase<S, M> {
  readonly kind: 'stream';
}

export type ProxiedCall<S, M extends MethodName<S> = MethodName<S>> = UnaryCall<S, M> | StreamCall<S, M>;

type AnyHandler = (call: unknown, callback?: sendUnaryData<unknown>) => void;

/**
 * An implementation of the service whose every call goes to `route`. `definition` must be
 * the service's own (the compiler checks it has the implementation's methods).
 */
export function proxyService<S extends UntypedServiceImplementation>(
  definition: DefinitionOf<S>,
  route: (call: ProxiedCall<S>) => void,
): S {
  const impl: UntypedServiceImplementation = {};
  for (const method of Object.keys(definition) as MethodName<S>[]) {
    const def = definition[method];
    const handlerOf = (target: Pick<S, MethodName<S>>) => target[method] as unknown as AnyHandler;
    if (!def.responseStream) {
      // Unary and client-stream calls: answered through the callback.
      impl[method] = (
        call: ServerUnaryCall<unknown, unknown> | ServerReadableStream<unknown, unknown>,
        callback: sendUnaryData<unknown>,
      ) => {
        const base = {
          method,
          definition: def,
          call,
          delegate: (target: Pick<S, MethodName<S>>) => handlerOf(target)(call, callback),
          refuse: (err: Partial<ServiceError>) => callback(err),
        };
        if (def.requestStream) route({ ...base, kind: 'stream' });
        else
          route({
            ...base,
            kind: 'unary',
            request: (call as ServerUnaryCall<unknown, unknown>).request,
            reply: (err, res) => callback(err, res),
          });
      };
    } else {
      // Server and bidi streams: refused with an 'error' event.
      impl[method] = (call: ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>) =>
        route({
          method,
          definition: def,
          call,
          kind: 'stream',
          delegate: (target) => handlerOf(target)(call),
          refuse: (err) => call.emit('error', err),
        });
    }
  }
  return impl as S;
}
