// ApiError: a status and a user's message, with the cause and a retryable marker, like the
// store's and the executor's errors; converted once to a gRPC status.
import test from 'ava';
import { status } from '@grpc/grpc-js';
import { ApiError, invalidArgument, toServiceError, unavailable } from '../../../manager/errors.js';
import { StoreUnavailableError } from '../../../manager/store/store.js';

test('an ApiError carries name, code, cause and retryable (UNAVAILABLE is retryable unless told)', (t) => {
  const cause = new Error('bad digit');
  const e = invalidArgument('invalid subnet "10.x"', { cause });
  t.is(e.name, 'ApiError');
  t.is(e.code, status.INVALID_ARGUMENT);
  t.is(e.cause, cause);
  t.false(e.retryable);
  t.true(unavailable('try again shortly').retryable);
  t.false(unavailable('events are not available on this manager', { retryable: false }).retryable);
  t.true(new ApiError(status.ABORTED, 'conflict', { retryable: true }).retryable);
});

test('anything else thrown becomes INTERNAL with the original as cause, keeping its retryable marker', (t) => {
  const store = new StoreUnavailableError('cannot write to etcd: deadline exceeded');
  const e = ApiError.from(store);
  t.is(e.code, status.INTERNAL);
  t.is(e.message, 'internal error: cannot write to etcd: deadline exceeded');
  t.is(e.cause, store);
  t.true(e.retryable);
  t.false(ApiError.from('a string').retryable);
  const same = unavailable('x');
  t.is(ApiError.from(same), same);
});

test('toServiceError: the status and the one-line message, as before', (t) => {
  t.like(toServiceError(invalidArgument('service name is required')), {
    code: status.INVALID_ARGUMENT,
    details: 'service name is required',
  });
  t.like(toServiceError(new TypeError('x is undefined')), {
    code: status.INTERNAL,
    details: 'internal error: x is undefined',
  });
});
