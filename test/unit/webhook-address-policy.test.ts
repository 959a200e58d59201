import { describe, expect, it } from 'vitest';
import {
  checkWebhookTarget,
  NOT_PUBLIC_TARGET,
  parseWebhookUrl,
  type Resolver,
  refusedAddressReason,
  TargetRefusedError,
} from '../../src/webhooks/address-policy.js';

describe('refusedAddressReason', () => {
  const refused: Array<[string, string]> = [
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.127.255.255', 'carrier-grade NAT'],
    ['169.254.0.1', 'link-local'],
    ['169.254.169.254', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['192.0.2.1', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['febf::1', 'link-local'],
    ['fc00::1', 'unique-local'],
    ['fd00:ec2::254', 'unique-local'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.1.2.3', 'private'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::ffff:192.168.0.1', 'private'],
    ['::127.0.0.1', 'loopback'],
    ['64:ff9b::a00:1', 'reserved'],
    ['2002:7f00:1::', 'reserved'],
    ['2001:db8::1', 'reserved'],
    ['[::1]', 'loopback'],
  ];
  for (const [ip, reason] of refused) {
    it(`refuses ${ip} (${reason})`, () => expect(refusedAddressReason(ip)).toBe(reason));
  }

  for (const ip of [
    '8.8.8.8',
    '1.1.1.1',
    '172.15.255.255',
    '172.32.0.1',
    '100.63.255.255',
    '100.128.0.1',
    '2606:4700:4700::1111',
    '2a00:1450:4001::200e',
    '::ffff:8.8.8.8',
  ]) {
    it(`allows public ${ip}`, () => expect(refusedAddressReason(ip)).toBeNull());
  }

  it('treats garbage as not an address', () => {
    expect(refusedAddressReason('example.com')).toBe('not an IP address');
    expect(refusedAddressReason('')).toBe('not an IP address');
  });
});

describe('parseWebhookUrl', () => {
  const refusedUrls = [
    'http://127.0.0.1/hook',
    'http://2130706433/',
    'http://0x7f000001/',
    'http://0x7f.1/',
    'http://0177.0.0.1/',
    'http://127.1/',
    'http://0/',
    'http://0.0.0.0:8080/',
    'http://017700000001/',
    'http://10.1.2.3/',
    'http://167772161/',
    'http://172.20.0.1/',
    'http://192.168.0.10/',
    'http://100.64.1.1/',
    'http://169.254.169.254/latest/meta-data/',
    'http://[::1]/',
    'http://[::]/',
    'http://[0:0:0:0:0:0:0:1]/',
    'http://[fe80::1]/',
    'http://[fd00:ec2::254]/',
    'http://[fc00::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::ffff:a9fe:a9fe]/',
    'http://localhost/',
    'http://LOCALHOST./',
    'http://api.localhost/',
    'https://localhost.localdomain/',
  ];
  for (const url of refusedUrls) {
    it(`refuses ${url}`, () => expect(() => parseWebhookUrl(url, false)).toThrow());
  }

  for (const url of [
    'ftp://example.com/',
    'file:///etc/passwd',
    'gopher://x/',
    'javascript:alert(1)',
    'not a url',
    'https://user:pw@example.com/',
  ]) {
    it(`refuses ${url} even when private targets are allowed`, () =>
      expect(() => parseWebhookUrl(url, true)).toThrow());
  }

  it('accepts public http(s) URLs and, when allowed, private ones', () => {
    expect(parseWebhookUrl('https://hooks.example.com/simo', false).hostname).toBe('hooks.example.com');
    expect(parseWebhookUrl('http://8.8.8.8:8080/x', false).port).toBe('8080');
    expect(parseWebhookUrl('http://127.0.0.1:9000/x', true).hostname).toBe('127.0.0.1');
  });
});

describe('checkWebhookTarget (resolved addresses)', () => {
  const resolver =
    (map: Record<string, string[]>): Resolver =>
    async (host) => {
      const list = map[host];
      if (!list) throw new Error('ENOTFOUND');
      return list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    };
  const dns = resolver({
    'public.example': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
    'rebind.example': ['93.184.215.14', '10.0.0.5'],
    'metadata.example': ['169.254.169.254'],
    'v6local.example': ['fd00::1'],
    'mapped.example': ['::ffff:192.168.1.1'],
  });

  it('accepts a name whose every address is public', async () => {
    await expect(checkWebhookTarget('https://public.example/hook', false, dns)).resolves.toBeInstanceOf(URL);
  });
  // One message for every refusal: a distinct "does not resolve" would make the check a DNS oracle.
  for (const host of [
    'rebind.example',
    'metadata.example',
    'v6local.example',
    'mapped.example',
    'nowhere.example',
  ]) {
    it(`refuses ${host} with the one message`, async () => {
      await expect(checkWebhookTarget(`https://${host}/hook`, false, dns)).rejects.toThrow(
        new TargetRefusedError(NOT_PUBLIC_TARGET),
      );
    });
  }
  it('skips resolution when private targets are allowed', async () => {
    await expect(checkWebhookTarget('http://metadata.example/', true, dns)).resolves.toBeInstanceOf(URL);
  });
});
