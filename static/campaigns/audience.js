// Audience builder: the count and the first recipients follow the form as it changes
// (progressive enhancement: the "Compter" button does the same without JavaScript).
(function () {
  "use strict";
  var form = document.getElementById("audience-form");
  var output = document.getElementById("audience-count");
  if (!form || !output || !window.fetch) return;
  var lists = ["clienteles", "regions", "territories", "sectors", "organizations", "languages",
    "tags", "registered_event", "attended_event", "not_attended_event", "not_registered_event"];
  var numeric = ["organizations", "registered_event", "attended_event", "not_attended_event",
    "not_registered_event"];
  var timer = null;

  function filters() {
    var data = new FormData(form);
    var result = {};
    lists.forEach(function (name) {
      var values = data.getAll(name).filter(function (v) { return v !== ""; });
      if (values.length) {
        result[name] = numeric.indexOf(name) >= 0 ? values.map(Number) : values;
      }
    });
    if (data.get("consent")) result.consent = data.get("consent");
    return result;
  }

  function show(body) {
    var count = output.querySelector("[data-count]");
    if (!count) return;  // first render is the server's
    count.textContent = body.count;
    Object.keys(body.excluded).forEach(function (reason) {
      var cell = output.querySelector('[data-excluded="' + reason + '"]');
      if (cell) cell.textContent = body.excluded[reason];
    });
    var list = output.querySelector("[data-preview]");
    if (list) {
      list.textContent = "";
      body.preview.forEach(function (p) {
        var item = document.createElement("li");
        item.textContent = p.first_name + " " + p.last_name + " — " + p.email +
          (p.organization ? " (" + p.organization + ")" : "");
        list.appendChild(item);
      });
    }
  }

  function refresh() {
    var token = form.querySelector('input[name="csrf_token"]');
    fetch(form.getAttribute("data-count-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": token ? token.value : ""},
      body: JSON.stringify({name: form.elements.name.value || "-", filters: filters()})
    }).then(function (r) { return r.ok ? r.json() : null; }).then(function (body) {
      if (body) show(body);
    }).catch(function () { /* the "Compter" button still works */ });
  }

  form.addEventListener("change", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  });
})();
