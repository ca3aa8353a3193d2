import assert from 'node:assert/strict';
import { addressKey } from '../../control-plane/src/users/address-limit.ts';

describe('sign-in address keys', () => {
  it('keeps an IPv4 address, and an IPv4-mapped IPv6 one as its IPv4', () => {
    assert.equal(addressKey('203.0.113.7'), '203.0.113.7');
    assert.equal(addressKey('::ffff:203.0.113.7'), '203.0.113.7');
  });
  it('counts an IPv6 address by its /64, however it is written', () => {
    assert.equal(addressKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:0DB8:0001:0002:ffff:0:0:9'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(addressKey('::1'), '0:0:0:0::/64');
  });
  it('puts anything that is no address under one key', () => {
    assert.equal(addressKey(undefined), 'unknown');
    assert.equal(addressKey('not an ip\u0000'), 'unknown');
  });
});
