// Saves each answer of the evaluation form as it is given (progressive enhancement: the
// form posts normally without this script). One POST per changed question to the JSON
// endpoint of the personal link; errors are shown under the question (aria-describedby).
(function () {
  "use strict";
  var form = document.getElementById("evaluation-form");
  if (!form || !window.fetch) { return; }
  var url = form.getAttribute("data-save-url");
  var lang = document.documentElement.lang === "en" ? "en" : "fr";
  var words = {
    fr: { saving: "Enregistrement…", saved: "Réponse enregistrée.", failed: "Non enregistrée : vérifiez votre connexion, puis réessayez (ou utilisez le bouton Envoyer)." },
    en: { saving: "Saving…", saved: "Answer saved.", failed: "Not saved: check your connection and try again (or use the Send button)." }
  }[lang];
  var timers = {};

  function valueOf(fieldset) {
    var kind = fieldset.getAttribute("data-kind");
    var inputs = fieldset.querySelectorAll("input, textarea");
    if (kind === "multi") {
      var chosen = [];
      inputs.forEach(function (i) { if (i.checked) { chosen.push(parseInt(i.value, 10)); } });
      return chosen;
    }
    if (kind === "text" || kind === "long_text") { return inputs[0].value; }
    var picked = null;
    inputs.forEach(function (i) { if (i.checked) { picked = parseInt(i.value, 10); } });
    return picked;
  }

  function show(fieldset, error, state) {
    var errorBox = fieldset.querySelector("[data-error]");
    var stateBox = fieldset.querySelector("[data-state]");
    errorBox.textContent = error || "";
    fieldset.classList.toggle("has-error", !!error);
    fieldset.querySelectorAll("input, textarea").forEach(function (i) {
      if (error) { i.setAttribute("aria-invalid", "true"); } else { i.removeAttribute("aria-invalid"); }
    });
    stateBox.textContent = state || "";
  }

  function save(fieldset) {
    var code = fieldset.getAttribute("data-code");
    var body = { answers: {}, complete: false };
    body.answers[code] = valueOf(fieldset);
    show(fieldset, "", words.saving);
    fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      credentials: "omit",
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().then(function (data) { return { status: response.status, data: data }; });
    }).then(function (result) {
      if (result.status === 200) { show(fieldset, "", words.saved); return; }
      var error = result.data && result.data.error;
      var text = error && error.fields && error.fields[code] || error && error.message || words.failed;
      show(fieldset, text, "");
    }).catch(function () { show(fieldset, "", words.failed); });
  }

  form.addEventListener("change", function (event) {
    var fieldset = event.target.closest("fieldset[data-code]");
    if (fieldset) { clearTimeout(timers[fieldset.id]); save(fieldset); }
  });
  form.addEventListener("input", function (event) {
    var fieldset = event.target.closest("fieldset[data-code]");
    if (!fieldset || event.target.tagName === "INPUT" && event.target.type !== "text") { return; }
    clearTimeout(timers[fieldset.id]);
    timers[fieldset.id] = setTimeout(function () { save(fieldset); }, 800);
  });
}());
