// The manager's --insecure-registry / --resolve-image-registries (manager/config/image-flags.ts).
import test from 'ava';
import { imageResolver } from '../../../../manager/config/image-flags.js';

test('any (default), none, or a list of HOST[:PORT]; bad values are one-line errors', (t) => {
  t.true(imageResolver({})?.mayContact('docker.io'));
  t.is(imageResolver({ 'resolve-image-registries': 'none' }), undefined);
  const bed = imageResolver({
    'insecure-registry': ['10.213.0.1:5000'],
    'resolve-image-registries': '10.213.0.1:5000,10.213.0.1:5001',
  });
  t.true(bed?.mayContact('10.213.0.1:5001'));
  t.false(bed?.mayContact('docker.io'));
  t.false(bed?.mayContact('registry-1.docker.io'));
  t.throws(() => imageResolver({ 'insecure-registry': ['http://x/'] }), {
    message: '--insecure-registry must be HOST[:PORT], got "http://x/"',
  });
  t.throws(() => imageResolver({ 'resolve-image-registries': 'a b' }), {
    message: '--resolve-image-registries: "a b" is not HOST[:PORT]',
  });
});
