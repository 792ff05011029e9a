// Compile-time checks of the Control and Dispatcher route tables, run by the typecheck (`tsc --noEmit -p .`
// includes test/**): each `@ts-expect-error` below must meet a type error, so if RouteTable
// ever stopped refusing a table that lacks a method, names a method the service does not
// have, or marks a stream as a write, the typecheck itself fails. The tests below check at
// run time that each table is wrong in the way its comment says.
import test from 'ava';
import { ControlClient, DispatcherClient } from '../../../../proto/gen/shoal.js';
import { CONTROL_ROUTES, type ControlRoutes } from '../../../../manager/controlapi/routes.js';
import { DISPATCHER_ROUTES, type DispatcherRoutes } from '../../../../manager/dispatcher/router.js';

// A Control method added to the service and forgotten in the table (here: createService).
const { createService: _forgotten, ...withoutCreateService } = CONTROL_ROUTES;
// @ts-expect-error the table lacks createService: a write nobody declared would run on a follower's copy
const lacksAMethod: ControlRoutes = withoutCreateService;

const namesAnUnknownMethod: ControlRoutes = {
  ...CONTROL_ROUTES,
  // @ts-expect-error restartService is no Control method (a typo, or a method since removed)
  restartService: 'write',
};

const forwardsAStream: ControlRoutes = {
  ...CONTROL_ROUTES,
  // @ts-expect-error Events is a server stream: the router cannot forward it as a write
  events: 'write',
};

// The Dispatcher's table: a method added to the service and forgotten here (here: heartbeat).
const { heartbeat: _forgottenToo, ...withoutHeartbeat } = DISPATCHER_ROUTES;
// @ts-expect-error the table lacks heartbeat: every Dispatcher method must say where it is served
const dispatcherLacksAMethod: DispatcherRoutes = withoutHeartbeat;

const methods = Object.keys(ControlClient.service).sort();

test('the table the typecheck refuses for a missing method does lack one of the service', (t) => {
  t.deepEqual(
    methods.filter((m) => !(m in lacksAMethod)),
    ['createService'],
  );
});

test('the table the typecheck refuses for an unknown method does name one the service lacks', (t) => {
  t.deepEqual(
    Object.keys(namesAnUnknownMethod).filter((m) => !methods.includes(m)),
    ['restartService'],
  );
});

test('the table the typecheck refuses for a forwarded stream does mark a stream as a write', (t) => {
  const route: string = forwardsAStream.events;
  t.is(route, 'write');
  t.true(ControlClient.service.events.responseStream);
});

test('the Dispatcher table the typecheck refuses does lack one of the service, and the real one has them all', (t) => {
  const dispatcherMethods = Object.keys(DispatcherClient.service).sort();
  t.deepEqual(
    dispatcherMethods.filter((m) => !(m in dispatcherLacksAMethod)),
    ['heartbeat'],
  );
  t.deepEqual(Object.keys(DISPATCHER_ROUTES).sort(), dispatcherMethods);
});
