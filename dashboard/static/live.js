// Live room: refresh the server-rendered panel on each server-sent event; send commands without
// leaving the page and show the device's answer.
(function () {
  const panel = document.getElementById("panel");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  // One fetch at a time; an update that arrives meanwhile triggers one more fetch afterwards,
  // so the last update is never lost.
  let pending = false;
  let again = false;
  async function refresh() {
    if (pending) { again = true; return; }
    pending = true;
    try {
      do {
        again = false;
        const response = await fetch(panel.dataset.panelUrl, {credentials: "same-origin"});
        if (response.ok) panel.innerHTML = await response.text();
      } while (again);
    } finally { pending = false; }
  }
  const events = new EventSource(panel.dataset.eventsUrl);
  events.addEventListener("update", refresh);
  const answer = document.getElementById("answer");
  document.querySelectorAll("form[data-command]").forEach(function (form) {
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      answer.textContent = "Sending…";
      answer.className = "answer";
      const response = await fetch(form.action, {method: "POST", body: new FormData(form),
        headers: {"Accept": "application/json", "X-CSRF-Token": csrf}, credentials: "same-origin"});
      const result = await response.json();
      answer.textContent = result.ok ? "Device: " + result.detail : "Device answered: " + result.error;
      answer.className = "answer " + (result.ok ? "ok" : "error");
      refresh();
    });
  });
})();
