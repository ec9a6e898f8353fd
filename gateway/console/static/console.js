// sfgw console: the little script the pages use. No framework, nothing from a network.
// 1. Sections marked data-live="URL" reload from URL every data-every ms (server-rendered
//    HTML), so the overview and an Opportunity's trail refresh without a page reload.
// 2. The "select all" box of the dead-letter list.
"use strict";

function refresh(section) {
  const url = section.dataset.live;
  const every = Number(section.dataset.every || 5000);
  const tick = async () => {
    if (document.visibilityState === "visible") {
      try {
        const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
        if (response.ok) {
          section.innerHTML = await response.text();
          section.dataset.refreshed = String(Date.now());
        }
      } catch (error) {
        // the console or its Redis is away for a moment: keep the last view, try again
      }
    }
    window.setTimeout(tick, every);
  };
  window.setTimeout(tick, every);
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-live]").forEach(refresh);
  const all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", () => {
      document.querySelectorAll('input[name="ids"][type="checkbox"]').forEach((box) => {
        box.checked = all.checked;
      });
    });
  }
});
