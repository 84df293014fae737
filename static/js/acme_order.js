// An ACME order's page follows the background worker: it asks the order's status (JSON)
// every two seconds while a worker has the order, and when the state changes it puts the new
// words in the polite live region and the server's rendering of the rest in place (result
// link, TXT records, Try again). It stops once the order is done, failed or stopped.
(() => {
  const box = document.getElementById("order-progress");
  if (!box || box.dataset.running !== "1") return;
  const state = document.getElementById("order-state");
  const key = (s) => s.status + (s.stalled ? "-stalled" : "");
  const swap = async (s) => {
    try {
      const response = await fetch(window.location.pathname, {headers: {"Accept": "text/html"}});
      if (response.ok) {
        const page = new DOMParser().parseFromString(await response.text(), "text/html");
        const body = page.getElementById("order-body");
        if (body) document.getElementById("order-body").replaceWith(body);
      }
    } finally {
      const strong = document.createElement("strong");
      strong.textContent = s.words;
      state.replaceChildren(strong);
    }
  };
  const poll = async () => {
    let delay = 2000;
    try {
      const response = await fetch(box.dataset.url, {headers: {"Accept": "application/json"}});
      if (response.ok) {
        const s = await response.json();
        if (key(s) !== box.dataset.status) {
          box.dataset.status = key(s);
          await swap(s);
        }
        if (!s.running) return;
      } else {
        delay = 5000;
      }
    } catch (e) {
      delay = 5000;
    }
    setTimeout(poll, delay);
  };
  setTimeout(poll, 1000);
})();
