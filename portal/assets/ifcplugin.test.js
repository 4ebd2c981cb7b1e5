// Unit tests of the page-side library (ifcplugin.js) against ../shared/ifc-protocol.md, with a
// stand-in window whose "extension" answers as the doc says one does. Run: node --test portal/assets/
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const ifc = require('./ifcplugin.js');

// A window whose extension answers each request with `answer(request)`: a list of replies, each
// posted back as the content script does (a JSON string from the same window).
function extension(answer) {
  const listeners = [];
  const sent = [];
  const win = {
    addEventListener(type, listener) {
      if (type === 'message') listeners.push(listener);
    },
    postMessage(data, target) {
      sent.push({ data, target });
      const request = JSON.parse(data);
      if (request.type !== 'TO_IFC_EXT') return;
      const replies = answer(request.msg_data) || [];
      setImmediate(() => replies.forEach((reply) => win.deliver(reply)));
    },
    deliver(reply, source = win, raw = false) {
      const data = raw ? reply : JSON.stringify({ type: 'FROM_IFC_EXT', msg_data: reply });
      listeners.forEach((listener) => listener({ source, data }));
    },
    disconnect() {
      listeners.forEach((listener) => listener({ source: win, data: '{"type":"IFC_EXT_DISCONNECT"}' }));
    },
    sent,
  };
  return win;
}

const TOKEN = { type: 'pkcs11', alias: 'podpis', num: 'pd0000000001', crypto_id: 'ignored' };
const CERT = {
  id: '01',
  cert_sn: '1002',
  cert_subject: 'CN=Иванов Иван Иванович\nSNILS=54771278218\nO=ООО \\, Ромашка',
  cert_issuer: 'CN=Test CA',
  cert_valid_to: 'Sun, 30 Nov 2036 12:00:00 GMT',
};

test('requests go out as JSON strings of the TO_IFC_EXT envelope, version without params', async () => {
  const win = extension(() => [{ error_code: 0, version: '3.1.0' }]);
  const plugin = new ifc.Plugin(win);
  const reply = await plugin.version();
  assert.equal(reply.version, '3.1.0');
  assert.equal(typeof win.sent[0].data, 'string');
  assert.equal(win.sent[0].target, '*');
  assert.deepEqual(JSON.parse(win.sent[0].data), { type: 'TO_IFC_EXT', msg_data: { func_name: 'version' } });
  await plugin.create();
  assert.deepEqual(JSON.parse(win.sent[1].data).msg_data, {
    func_name: 'create',
    params: { file_config: '', config_string: '', log_file_location: '', plugin_log_level: '' },
  });
});

test('replies that are objects, from another window or not JSON are dropped', async () => {
  const win = extension(() => []);
  const plugin = new ifc.Plugin(win);
  let got = null;
  plugin.send({ func_name: 'version' }, (reply) => { got = reply; });
  win.deliver({ type: 'FROM_IFC_EXT', msg_data: { error_code: 0 } }, win, true); // an object
  win.deliver({ error_code: 0 }, { other: true }); // another window
  win.deliver('not json', win, true);
  win.deliver('{"type":"SOMETHING_ELSE","msg_data":{"error_code":0}}', win, true);
  assert.equal(got, null);
  win.deliver({ error_code: 0, version: 'x' });
  assert.deepEqual(got, { error_code: 0, version: 'x' });
});

test('one request at a time: a second one gets -1 at once; replies go by order', async () => {
  const win = extension(() => []);
  const plugin = new ifc.Plugin(win);
  const first = [];
  const second = [];
  plugin.send({ func_name: 'version' }, (reply) => first.push(reply));
  plugin.send({ func_name: 'version' }, (reply) => second.push(reply));
  assert.deepEqual(second, [{ error_code: -1 }]);
  assert.equal(win.sent.length, 1, 'the refused request is not posted');
  win.deliver({ error_code: 0, n: 1 });
  win.deliver({ error_code: 0, n: 2 }); // nobody waits: dropped
  assert.deepEqual(first, [{ error_code: 0, n: 1 }]);
});

test('an intermediate reply keeps the slot; the final one closes it', async () => {
  const win = extension(() => []);
  const plugin = new ifc.Plugin(win);
  const replies = [];
  plugin.send({ func_name: 'get_list_certs_by_cryptoid_array' }, (reply) => replies.push(reply));
  win.deliver({ error_code: 0, intermediate: true });
  const refused = [];
  plugin.send({ func_name: 'version' }, (reply) => refused.push(reply));
  assert.deepEqual(refused, [{ error_code: -1 }]);
  win.deliver({ error_code: 0, result_array: [] });
  assert.equal(replies.length, 2);
  // Now free: `call` skips intermediates and resolves with the final reply.
  const call = plugin.call('version');
  win.deliver({ error_code: 0, intermediate: true });
  win.deliver({ error_code: 0, version: 'v' });
  assert.deepEqual(await call, { error_code: 0, version: 'v' });
});

test('a disconnect fails the waiting request and every later one with 0x0100', async () => {
  const win = extension(() => []);
  const plugin = new ifc.Plugin(win);
  const waiting = plugin.call('version');
  win.disconnect();
  assert.deepEqual(await waiting, { error_code: 0x0100 });
  const later = await plugin.call('version');
  assert.deepEqual(later, { error_code: 0x0100 });
  assert.equal(win.sent.length, 1, 'nothing is posted after the disconnect');
});

test('cryptoId and containerId follow the library rules (doc 5)', () => {
  assert.equal(ifc.cryptoId(TOKEN), 'podpis/pd0000000001');
  assert.equal(ifc.cryptoId({ type: 'capi', alias: 'CryptoPro', num: '7' }), 'CryptoPro');
  assert.equal(ifc.cryptoId({ type: 'capi_linux', alias: 'VIPNet CSP' }), 'VIPNet CSP');
  assert.equal(ifc.cryptoId({ type: 'other', crypto_id: 'x/y' }), 'x/y');
  assert.equal(ifc.cryptoId({ type: 'pkcs11', alias: 'a', num: null }), 'a/');
  assert.equal(ifc.containerId(TOKEN, CERT), 'podpis/pd0000000001/01');
  assert.equal(ifc.cryptoIdOfContainer('podpis/pd0000000001/01'), 'podpis/pd0000000001');
  // CAPI (one of four names anywhere): cut at the first slash, the container may hold slashes.
  assert.equal(ifc.cryptoIdOfContainer('CryptoPro/\\\\.\\HDIMAGE\\key/1'), 'CryptoPro');
  assert.equal(ifc.cryptoIdOfContainer('a/0/x-LISSI-CSP'), 'a');
  assert.equal(ifc.cryptoIdOfContainer(''), '');
  assert.equal(ifc.cryptoIdOfContainer('nolash'), '');
});

test('certificates: get_list_info, then every crypto id at once; unknown ids skipped', async () => {
  const requests = [];
  const win = extension((request) => {
    requests.push(request);
    if (request.func_name === 'get_list_info') return [{ error_code: 0, ifc_list: [TOKEN] }];
    return [{
      error_code: 0,
      result_array: [
        { crypto_id: 'podpis/pd0000000001', cert_list: [CERT] },
        { crypto_id: 'someone/else', cert_list: [CERT] },
      ],
    }];
  });
  const listed = await new ifc.Plugin(win).certificates();
  assert.deepEqual(requests, [
    { func_name: 'get_list_info', params: { cryptoType: null } },
    {
      func_name: 'get_list_certs_by_cryptoid_array',
      params: { cryptoID_array: ['podpis/pd0000000001'], show_progress: 0 },
    },
  ]);
  assert.equal(listed.error_code, 0);
  assert.equal(listed.items.length, 1);
  assert.equal(listed.items[0].containerId, 'podpis/pd0000000001/01');
});

test('a host error while listing comes back with its code', async () => {
  const win = extension(() => [{ error_code: 0x15 }]);
  const listed = await new ifc.Plugin(win).certificates();
  assert.deepEqual(listed, { error_code: 0x15, items: [] });
});

test('signing: get_list_info first, then sign CAdES-BES attached of the text as DATA', async () => {
  const requests = [];
  const win = extension((request) => {
    requests.push(request);
    if (request.func_name === 'get_list_info') return [{ error_code: 0, ifc_list: [TOKEN] }];
    return [{ error_code: 0, sign_value: 'MIAG' }];
  });
  const plugin = new ifc.Plugin(win);
  const signed = await plugin.signCadesBesAttached('podpis/pd0000000001/01', '', 'challenge text');
  assert.equal(signed.sign_value, 'MIAG');
  assert.deepEqual(requests[1], {
    func_name: 'sign',
    params: {
      containerId: 'podpis/pd0000000001/01',
      userPin: '',
      inDataType: 1,
      data: 'challenge text',
      hashType: 1,
      signType: 5,
      cspUI: 1,
      outDataType: 1,
    },
  });
  // A container of no listed crypto: 0x00A4, and sign is never sent.
  requests.length = 0;
  const missing = await plugin.signCadesBesAttached('gone/0/01', '1234', 'x');
  assert.deepEqual(missing, { error_code: 0xa4 });
  assert.deepEqual(requests.map((r) => r.func_name), ['get_list_info']);
});

test('a chosen certificate is read by load, info and free', async () => {
  const requests = [];
  const win = extension((request) => {
    requests.push(request.func_name);
    if (request.func_name === 'load_x509_from_container') return [{ error_code: 0, x509Handle: 7 }];
    if (request.func_name === 'get_x509_info') return [{ error_code: 0, cert_info: { cert_sn: '1002' } }];
    return [{ error_code: 0 }];
  });
  const answer = await new ifc.Plugin(win).certificateInfo('podpis/pd0000000001/01');
  assert.deepEqual(requests, ['load_x509_from_container', 'get_x509_info', 'free_x509']);
  assert.deepEqual(answer, { error_code: 0, info: { cert_sn: '1002' } });
});

test('the markers are read after the delay', async () => {
  const present = new Set();
  const doc = { getElementById: (id) => (present.has(id) ? {} : null) };
  const pending = ifc.detect(doc, 20);
  present.add(ifc.EXTENSION_MARKER);
  present.add(ifc.PLUGIN_MARKER);
  assert.deepEqual(await pending, { extensionIsInstalled: true, pluginIsRunning: true });
  present.delete(ifc.PLUGIN_MARKER);
  assert.deepEqual(await ifc.detect(doc, 0), { extensionIsInstalled: true, pluginIsRunning: false });
});

test('dates, validity and names as the host writes them', () => {
  const now = new Date('2026-11-30T00:00:00Z');
  assert.ok(ifc.isValid(CERT, now));
  assert.ok(!ifc.isValid({ cert_valid_to: 'Sat, 29 Nov 2025 12:00:00 GMT' }, now));
  assert.ok(!ifc.isValid({}, now));
  assert.equal(ifc.parseDate('Nov 30 12:00:00 2036 GMT').toISOString(), '2036-11-30T12:00:00.000Z');
  const dn = ifc.parseDn(CERT.cert_subject);
  assert.equal(dn.cn, 'Иванов Иван Иванович');
  assert.equal(dn.snils, '54771278218');
  assert.equal(dn.o, 'ООО , Ромашка');
});

test("the page's own script compiles (it runs only in a browser: Chromium tests drive it)", () => {
  const vm = require('node:vm');
  const fs = require('node:fs');
  const source = fs.readFileSync(require('node:path').join(__dirname, 'confirm.js'), 'utf8');
  assert.doesNotThrow(() => new vm.Script(source, { filename: 'confirm.js' }));
});
