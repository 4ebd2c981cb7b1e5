// The page side of the Gosuslugi plugin's protocol, written from ../shared/ifc-protocol.md
// ("the doc"; section numbers below are its own). The sandbox portal's stand-in for the
// library the real portal loads: the same envelopes, markers, one-request-at-a-time rule and
// cryptoId/containerId rules, so that an extension and host that serve this page serve the
// real one too. No code of the vendor's library is in here.
(function (root) {
  'use strict';

  // §4.2: the codes this file gives itself.
  var IFC_GENERAL_ERROR = -1;
  var IFC_OK = 0;
  var IFC_CRYPTO_NOT_FOUND = 0x00a4;
  var IFC_PLUGIN_UNDEFINED_ERROR = 0x0100;

  // §1.3: the two markers the extension's content script adds to the page.
  var EXTENSION_MARKER = 'ifcplugin-extension-is-installed';
  var PLUGIN_MARKER = 'ifc-plugin-is-installed';

  // §4.1: the sign types and input types this page uses.
  var DATA = 1;
  var CADES_BES_ATTACHED = 5;
  var HARDWARE_HASH = 1;
  var SHOW_CSP_UI = 1;
  var BASE64 = 1;

  function text(value) {
    // §3: every getter maps a missing or null field to ''.
    return value === undefined || value === null ? '' : String(value);
  }

  // §5: a crypto object's id.
  function cryptoId(crypto) {
    var type = text(crypto && crypto.type);
    if (type === 'pkcs11') return text(crypto.alias) + '/' + text(crypto.num);
    if (type === 'capi' || type === 'capi_linux') return text(crypto.alias);
    return text(crypto && crypto.crypto_id);
  }

  // §5: a certificate item's container id, under the crypto that listed it.
  function containerId(crypto, certificate) {
    return cryptoId(crypto) + '/' + text(certificate && certificate.id);
  }

  // §5: the cryptoId a containerId names, by the library's rule: a CAPI container (its id names
  // one of four CSPs anywhere) is cut at the first slash, anything else at the last.
  var CAPI_NAMES = ['CryptoPro', 'VIPNet', 'SignalCom', 'LISSI-CSP'];
  function cryptoIdOfContainer(id) {
    id = text(id);
    if (id === '') return '';
    var capi = CAPI_NAMES.some(function (name) { return id.indexOf(name) !== -1; });
    var cut = capi ? id.indexOf('/') : id.lastIndexOf('/');
    return cut < 0 ? '' : id.substring(0, cut);
  }

  // §1.2: one connection to the extension through window.postMessage.
  function Plugin(win) {
    this.win = win || root;
    this.pending = null;
    this.connected = true;
    var self = this;
    this.win.addEventListener('message', function (event) { self.receive(event); });
  }

  Plugin.prototype.receive = function (event) {
    // Only the page's own window speaks for the extension (its content script posts there), and
    // only strings: the extension's replies are JSON strings; anything else is dropped.
    if (event.source !== this.win || typeof event.data !== 'string') return;
    var message;
    try {
      message = JSON.parse(event.data);
    } catch (e) {
      return;
    }
    if (!message || typeof message !== 'object') return;
    if (message.type === 'FROM_IFC_EXT') {
      var callback = this.pending;
      if (!callback) return; // a reply nobody waits for (another extension's, say): dropped
      var reply = message.msg_data || {};
      // An intermediate reply keeps the slot open; the first final one closes it.
      if (!reply.intermediate) this.pending = null;
      callback(reply);
    } else if (message.type === 'IFC_EXT_DISCONNECT') {
      // The extension lost its host and never reconnects: the waiting request fails, and so
      // does every later one until the page is loaded again.
      this.connected = false;
      var waiting = this.pending;
      this.pending = null;
      if (waiting) waiting({ error_code: IFC_PLUGIN_UNDEFINED_ERROR });
    }
  };

  // Sends one request; `callback` gets every reply to it. A request made while another waits
  // is refused at once with -1: replies carry no id and are matched by order alone.
  Plugin.prototype.send = function (request, callback) {
    if (this.pending) {
      callback({ error_code: IFC_GENERAL_ERROR });
      return;
    }
    if (!this.connected) {
      callback({ error_code: IFC_PLUGIN_UNDEFINED_ERROR });
      return;
    }
    this.pending = callback;
    this.win.postMessage(JSON.stringify({ type: 'TO_IFC_EXT', msg_data: request }), '*');
  };

  // One request and its final reply, as a promise. Intermediate replies are skipped.
  Plugin.prototype.call = function (funcName, params) {
    var self = this;
    var request = { func_name: funcName };
    // `version` is the one call sent without a `params` key (§1.2).
    if (params !== undefined) request.params = params;
    return new Promise(function (resolve) {
      self.send(request, function (reply) {
        if (reply && reply.intermediate && reply.error_code === IFC_OK) return;
        resolve(reply || { error_code: IFC_GENERAL_ERROR });
      });
    });
  };

  Plugin.prototype.create = function () {
    return this.call('create', {
      file_config: '',
      config_string: '',
      log_file_location: '',
      plugin_log_level: ''
    });
  };

  Plugin.prototype.version = function () {
    return this.call('version');
  };

  // `get_list_info`: the crypto objects, with their ids computed here (§5), never taken from
  // the host for the three known types.
  Plugin.prototype.cryptoList = function () {
    return this.call('get_list_info', { cryptoType: null }).then(function (reply) {
      if (reply.error_code !== IFC_OK) return { error_code: reply.error_code, cryptos: [] };
      var list = Array.isArray(reply.ifc_list) ? reply.ifc_list : [];
      return { error_code: IFC_OK, cryptos: list };
    });
  };

  // Every certificate of every crypto: `get_list_info`, then
  // `get_list_certs_by_cryptoid_array`. Each item comes back as
  // {containerId, cryptoId, crypto, certificate}; entries for ids no crypto has are skipped.
  Plugin.prototype.certificates = function () {
    var self = this;
    return this.cryptoList().then(function (listed) {
      if (listed.error_code !== IFC_OK) return { error_code: listed.error_code, items: [] };
      var byId = {};
      var ids = [];
      listed.cryptos.forEach(function (crypto) {
        var id = cryptoId(crypto);
        if (!(id in byId)) ids.push(id);
        byId[id] = crypto;
      });
      if (ids.length === 0) return { error_code: IFC_OK, items: [] };
      return self
        .call('get_list_certs_by_cryptoid_array', { cryptoID_array: ids, show_progress: 0 })
        .then(function (reply) {
          if (reply.error_code !== IFC_OK) return { error_code: reply.error_code, items: [] };
          var items = [];
          (Array.isArray(reply.result_array) ? reply.result_array : []).forEach(function (entry) {
            var id = text(entry && entry.crypto_id);
            if (!Object.prototype.hasOwnProperty.call(byId, id)) return;
            var crypto = byId[id];
            (Array.isArray(entry.cert_list) ? entry.cert_list : []).forEach(function (certificate) {
              items.push({
                containerId: containerId(crypto, certificate),
                cryptoId: id,
                crypto: crypto,
                certificate: certificate
              });
            });
          });
          return { error_code: IFC_OK, items: items };
        });
    });
  };

  // A certificate's details, as the portal's widget reads them on a choice:
  // `load_x509_from_container`, `get_x509_info`, `free_x509`. The final code is free_x509's
  // unless an earlier step failed.
  Plugin.prototype.certificateInfo = function (container) {
    var self = this;
    return this.call('load_x509_from_container', { containerId: container }).then(function (loaded) {
      if (loaded.error_code !== IFC_OK) return { error_code: loaded.error_code };
      var handle = loaded.x509Handle;
      return self.call('get_x509_info', { x509Handle: handle }).then(function (info) {
        return self.call('free_x509', { x509Handle: handle }).then(function (freed) {
          if (info.error_code !== IFC_OK) return { error_code: info.error_code };
          return { error_code: freed.error_code, info: info.cert_info || {} };
        });
      });
    });
  };

  // `signDataCadesBesAttached` (§2.3): `get_list_info` first, and `sign` only when a listed
  // crypto has the cryptoId the containerId names; else 0x00A4 without sending `sign`.
  Plugin.prototype.signCadesBesAttached = function (container, pin, data) {
    var self = this;
    return this.cryptoList().then(function (listed) {
      if (listed.error_code !== IFC_OK) return { error_code: listed.error_code };
      var wanted = cryptoIdOfContainer(container);
      var found = listed.cryptos.some(function (crypto) { return cryptoId(crypto) === wanted; });
      if (!found) return { error_code: IFC_CRYPTO_NOT_FOUND };
      return self.call('sign', {
        containerId: container,
        userPin: pin || '',
        inDataType: DATA,
        data: data,
        hashType: HARDWARE_HASH,
        signType: CADES_BES_ATTACHED,
        cspUI: SHOW_CSP_UI,
        outDataType: BASE64
      });
    });
  };

  // §1.3: whether the extension and its host are there, read from the two markers after
  // `delay` ms (the portal's widget waits 2000 ms before it looks).
  function detect(doc, delay) {
    return new Promise(function (resolve) {
      setTimeout(function () {
        resolve({
          extensionIsInstalled: !!doc.getElementById(EXTENSION_MARKER),
          pluginIsRunning: !!doc.getElementById(PLUGIN_MARKER)
        });
      }, delay);
    });
  }

  // The certificate list's date strings: plain `Date`, then the OpenSSL print form
  // `Mon DD HH:MM:SS YYYY GMT` with the year moved before the time (§3.2).
  function parseDate(value) {
    var s = text(value);
    var date = new Date(s);
    if (!isNaN(date.getTime())) return date;
    var m = /^(\w{3})\s+(\d{1,2})\s+(\d{2}:\d{2}:\d{2})\s+(\d{4})\s+GMT$/.exec(s.trim());
    if (m) date = new Date(m[1] + ' ' + m[2] + ' ' + m[4] + ' ' + m[3] + ' GMT');
    return date;
  }

  // The widget drops certificates that are no longer valid: `now < cert_valid_to`.
  function isValid(certificate, now) {
    var until = parseDate(certificate && certificate.cert_valid_to);
    return !isNaN(until.getTime()) && (now || new Date()) < until;
  }

  // §3.2: a DN from the host: `key=value` components separated by "\n", `\,` a literal comma,
  // keys compared without case; only the text between the first and second `=` is kept.
  function parseDn(dn) {
    var out = {};
    text(dn).split('\n').forEach(function (component) {
      var parts = component.split('=');
      if (parts.length < 2) return;
      var key = parts[0].trim().toLowerCase();
      if (!(key in out)) out[key] = parts[1].replace(/\\,/g, ',');
    });
    return out;
  }

  var api = {
    Plugin: Plugin,
    detect: detect,
    cryptoId: cryptoId,
    containerId: containerId,
    cryptoIdOfContainer: cryptoIdOfContainer,
    parseDate: parseDate,
    parseDn: parseDn,
    isValid: isValid,
    IFC_OK: IFC_OK,
    IFC_GENERAL_ERROR: IFC_GENERAL_ERROR,
    IFC_CRYPTO_NOT_FOUND: IFC_CRYPTO_NOT_FOUND,
    IFC_PLUGIN_UNDEFINED_ERROR: IFC_PLUGIN_UNDEFINED_ERROR,
    EXTENSION_MARKER: EXTENSION_MARKER,
    PLUGIN_MARKER: PLUGIN_MARKER
  };
  if (typeof module !== 'undefined' && module.exports) module.exports = api;
  else root.PodpisIfc = api;
})(typeof window !== 'undefined' ? window : globalThis);
