// The event form's "Toute la journée" box: date inputs for an all-day event, date and
// time inputs otherwise (progressive enhancement: without this script the server uses
// the date part of the date-and-time inputs when the box is checked).
(function () {
  "use strict";
  var box = document.getElementById("f-all_day");
  var inputs = [document.getElementById("f-starts_at"), document.getElementById("f-ends_at")];
  if (!box || !inputs[0] || !inputs[1]) return;
  var hours = ["T09:00", "T17:00"];
  function apply() {
    inputs.forEach(function (input, i) {
      var value = input.value;
      if (box.checked && input.type !== "date") {
        input.type = "date";
        input.value = value.slice(0, 10);
      } else if (!box.checked && input.type !== "datetime-local") {
        input.type = "datetime-local";
        input.value = value ? value.slice(0, 10) + hours[i] : "";
      }
    });
  }
  box.addEventListener("change", apply);
  apply();
})();
