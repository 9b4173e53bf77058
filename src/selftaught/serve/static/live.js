// Keeps a served page up to date: asks the same address each second with ?live=<version>;
// the server answers 204 when nothing was recorded since, or the page's parts rendered again
// (HTML escaped by the server's templates). Without JavaScript the page is a snapshot.
"use strict";
(() => {
  const holder = document.querySelector(".parts[data-version]");
  const status = document.getElementById("live-status");
  if (!holder) return;
  let version = holder.dataset.version;
  const say = (text) => { if (status) status.textContent = text; };
  // <details> the reader opened stay open: keyed by their summary up to the first colon
  const key = (summary) => summary.textContent.split(":")[0].trim();
  async function poll() {
    try {
      const url = new URL(window.location.href);
      url.searchParams.set("live", version);
      const response = await fetch(url, { cache: "no-store", headers: { Accept: "application/json" } });
      if (response.status === 200) {
        const update = await response.json();
        version = update.version;
        holder.dataset.version = version;
        const order = update.order || [];
        for (const [name, html] of Object.entries(update.parts)) {
          let part = document.getElementById("part-" + name);
          if (!part) { // a part new to the page (a new iteration's improver runs): in its place
            part = document.createElement("div");
            part.className = "part";
            part.id = "part-" + name;
            let next = null;
            for (const later of order.slice(order.indexOf(name) + 1)) {
              next = document.getElementById("part-" + later);
              if (next) break;
            }
            holder.insertBefore(part, next);
          }
          const open = new Set(Array.from(part.querySelectorAll("details[open] > summary"), key));
          part.innerHTML = html;
          for (const summary of part.querySelectorAll("details > summary")) {
            if (open.has(key(summary))) summary.parentElement.open = true;
          }
        }
        say("live: updated " + new Date().toLocaleTimeString());
      } else if (response.status === 204) {
        say("live: up to date at " + new Date().toLocaleTimeString());
      } else {
        say("live: the server answered " + response.status);
      }
    } catch (error) {
      say("live: the server does not answer; this is the last state seen");
    }
    window.setTimeout(poll, 1000);
  }
  window.setTimeout(poll, 1000);
})();
