// The sandbox portal's confirmation page (docs/protocol.md, "The sandbox browser page"): find
// the plugin by its markers, list the person's certificates, and on a click have the plugin
// sign the portal's challenge, send the signature, and show the account's new level.
(function () {
  'use strict';

  var ifc = window.PodpisIfc;
  var words = JSON.parse(document.getElementById('words').textContent);
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var MARKER_DELAY_MS = 2000;

  var status = document.getElementById('status');
  var missing = document.getElementById('plugin-missing');
  var list = document.getElementById('cert-list');
  var details = document.getElementById('cert-details');
  var pin = document.getElementById('pin');
  var signButton = document.getElementById('sign');
  var errorBox = document.getElementById('error');
  var level = document.getElementById('level');
  var form = document.getElementById('confirm-form');

  var plugin = null;
  var busy = false;
  var confirmed = false;

  function word(key) {
    return Object.prototype.hasOwnProperty.call(words, key) ? words[key] : key;
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (all, name) {
      return name in values ? String(values[name]) : all;
    });
  }

  function setState(state, key) {
    status.dataset.state = state;
    status.textContent = word(key);
  }

  function clearError() {
    errorBox.hidden = true;
    errorBox.textContent = '';
    delete errorBox.dataset.code;
  }

  function hex(code) {
    return code < 0 ? String(code) : '0x' + ('0000' + code.toString(16).toUpperCase()).slice(-4);
  }

  // An error the plugin answered: its code, and the doc's description of it (§4.2).
  function hostError(code) {
    var key = 'ifc.' + code;
    var description = Object.prototype.hasOwnProperty.call(words, key) ? words[key] : word('ifc.unknown');
    showError(String(code), fill(word('error.host'), { code: hex(code), text: description }));
  }

  // A refusal of the portal's: its code, in the page's words.
  function portalError(code) {
    var key = 'portal.' + code;
    var description = Object.prototype.hasOwnProperty.call(words, key) ? words[key] : word('portal.internal');
    showError(code, fill(word('error.portal'), { code: code, text: description }));
  }

  function showError(code, message) {
    errorBox.dataset.code = code;
    errorBox.textContent = message;
    errorBox.hidden = false;
    setState('error', 'status.error');
  }

  function subjectName(certificate) {
    var dn = ifc.parseDn(certificate.cert_subject);
    return dn.cn || dn.commonname || [dn.surname, dn.givenname].filter(Boolean).join(' ') || certificate.cert_sn;
  }

  function issuerName(certificate) {
    var dn = ifc.parseDn(certificate.cert_issuer);
    return dn.cn || dn.commonname || dn.o || '';
  }

  function shortDate(value) {
    var date = ifc.parseDate(value);
    return isNaN(date.getTime()) ? String(value || '') : date.toISOString().slice(0, 10);
  }

  function start() {
    clearError();
    missing.hidden = true;
    setState('waiting', 'status.waiting');
    ifc.detect(document, MARKER_DELAY_MS).then(function (found) {
      if (!found.extensionIsInstalled || !found.pluginIsRunning) {
        missing.hidden = false;
        setState('plugin-missing', 'status.plugin_missing');
        document.getElementById('retry').focus();
        return;
      }
      if (!plugin) plugin = new ifc.Plugin(window);
      listCertificates();
    });
  }

  function listCertificates() {
    setState('listing', 'status.listing');
    plugin
      .create()
      .then(function (created) {
        if (created.error_code !== ifc.IFC_OK) throw created.error_code;
        return plugin.version();
      })
      .then(function (version) {
        if (version.error_code !== ifc.IFC_OK) throw version.error_code;
        return plugin.certificates();
      })
      .then(function (listed) {
        if (listed.error_code !== ifc.IFC_OK) throw listed.error_code;
        showCertificates(listed.items.filter(function (item) { return ifc.isValid(item.certificate); }));
      })
      .catch(function (code) {
        hostError(typeof code === 'number' ? code : ifc.IFC_GENERAL_ERROR);
      });
  }

  function showCertificates(items) {
    Array.prototype.slice.call(list.querySelectorAll('label')).forEach(function (label) { label.remove(); });
    if (items.length === 0) {
      setState('no-certificates', 'status.no_certificates');
      return;
    }
    items.forEach(function (item, index) {
      var label = document.createElement('label');
      var input = document.createElement('input');
      input.type = 'radio';
      input.name = 'certificate';
      input.value = item.containerId;
      input.id = 'cert-' + index;
      input.addEventListener('change', function () { choose(item); });
      var name = document.createElement('span');
      name.className = 'cert-name';
      name.textContent = subjectName(item.certificate);
      var about = document.createElement('span');
      // Two cards of one person differ only in their serial numbers: shown with the rest.
      about.textContent = fill(word('cert.summary'), {
        issuer: issuerName(item.certificate),
        until: shortDate(item.certificate.cert_valid_to),
        serial: item.certificate.cert_sn || ''
      });
      label.appendChild(input);
      label.appendChild(name);
      label.appendChild(about);
      list.appendChild(label);
    });
    list.disabled = false;
    setState('ready', 'status.ready');
  }

  // On a choice the widget reads the certificate's details; the page shows them.
  function choose(item) {
    if (busy) return;
    clearError();
    signButton.disabled = false;
    details.hidden = true;
    plugin.certificateInfo(item.containerId).then(function (answer) {
      if (answer.error_code !== ifc.IFC_OK) {
        hostError(answer.error_code);
        return;
      }
      var chosen = list.querySelector('input[name="certificate"]:checked');
      if (!chosen || chosen.value !== item.containerId) return; // another choice since
      showDetails(answer.info);
      setState('ready', 'status.ready');
    });
  }

  function showDetails(info) {
    details.textContent = '';
    [
      ['cert.subject', subjectName(info)],
      ['cert.issuer', issuerName(info)],
      ['cert.serial', info.cert_sn],
      ['cert.valid', fill(word('cert.period'), { from: shortDate(info.cert_valid_from), until: shortDate(info.cert_valid_to) })]
    ].forEach(function (row) {
      var dt = document.createElement('dt');
      dt.textContent = word(row[0]);
      var dd = document.createElement('dd');
      dd.textContent = row[1] || '';
      details.appendChild(dt);
      details.appendChild(dd);
    });
    details.hidden = false;
  }

  function post(path, body) {
    return fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
      body: body === undefined ? '' : JSON.stringify(body)
    }).then(function (response) {
      return response
        .json()
        .catch(function () { return { code: 'internal' }; })
        .then(function (json) { return { ok: response.ok, json: json }; });
    });
  }

  function setBusy(value) {
    busy = value;
    signButton.disabled = value;
    list.disabled = value;
    pin.disabled = value;
  }

  function sign(event) {
    event.preventDefault();
    if (busy || !plugin) return;
    var chosen = list.querySelector('input[name="certificate"]:checked');
    if (!chosen) {
      showError('choose', word('confirm.choose_first'));
      return;
    }
    var container = chosen.value;
    // The PIN is read once and the field emptied at once: it lives only in this call.
    var typed = pin.value;
    pin.value = '';
    clearError();
    setBusy(true);
    setState('sending', 'status.challenge');
    post('/confirm/challenge')
      .then(function (challenge) {
        if (!challenge.ok) throw { portal: challenge.json.code };
        setState('signing', 'status.signing');
        return plugin.signCadesBesAttached(container, typed, challenge.json.challenge);
      })
      .then(function (signed) {
        typed = '';
        if (signed.error_code !== ifc.IFC_OK) throw { host: signed.error_code };
        if (typeof signed.sign_value !== 'string' || signed.sign_value === '') throw { host: ifc.IFC_GENERAL_ERROR };
        setState('sending', 'status.sending');
        return post('/confirm/signature', { sign_value: signed.sign_value });
      })
      .then(function (answer) {
        if (!answer.ok) throw { portal: answer.json.code };
        level.dataset.level = answer.json.level;
        level.textContent = word('level.' + answer.json.level);
        setState('done', 'status.done');
        confirmed = true;
      })
      .catch(function (failure) {
        typed = '';
        if (failure && failure.host !== undefined) hostError(failure.host);
        else if (failure && failure.portal !== undefined) portalError(failure.portal || 'internal');
        else showError('network', word('error.network'));
      })
      .then(function () {
        // Once confirmed there is nothing left to sign here.
        setBusy(confirmed);
        signButton.disabled = confirmed || !list.querySelector('input[name="certificate"]:checked');
      });
  }

  document.getElementById('retry').addEventListener('click', start);
  form.addEventListener('submit', sign);
  start();
})();
