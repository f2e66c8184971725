// Site-wide behaviour, loaded as a file so the CSP needs no inline scripts.
(function () {
  "use strict";
  function showToast(message) {
    var toast = document.getElementById("toast");
    if (!toast) return;
    toast.textContent = message;
    toast.hidden = false;
    clearTimeout(showToast.timer);
    showToast.timer = setTimeout(function () { toast.hidden = true; }, 5000);
  }
  // 403/404/5xx answers to htmx requests are not swapped (see htmx-config); say so instead.
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    if (status === 403) showToast("You don't have access to that.");
    else if (status === 404) showToast("That item no longer exists.");
    else if (status === 429) showToast("Too many attempts. Please wait a minute and try again.");
    else showToast("Something went wrong. Nothing was changed; please try again.");
  });
  // A table wider than the screen scrolls inside its card; the keyboard must reach it too.
  function letWideTablesScroll() {
    document.querySelectorAll("table.table").forEach(function (table) {
      if (table.scrollWidth > table.clientWidth + 1) {
        table.tabIndex = 0;
        var heading = table.closest("section, .card") && table.closest("section, .card").querySelector("h1, h2");
        if (heading && !table.hasAttribute("aria-label")) table.setAttribute("aria-label", heading.textContent.trim());
      } else {
        table.removeAttribute("tabindex");
      }
    });
  }
  document.addEventListener("DOMContentLoaded", letWideTablesScroll);
  document.addEventListener("htmx:afterSettle", letWideTablesScroll);
  window.addEventListener("resize", letWideTablesScroll);
  // The confirmation step: its button is focused when it appears; "Go back" or Escape closes it;
  // its own button closes it once htmx has taken the form it sends.
  function closeConfirmation() {
    var region = document.getElementById("confirm-step");
    if (region && region.firstChild) region.replaceChildren();
  }
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target.id !== "confirm-step") return;
    var button = event.detail.target.querySelector("[data-confirm-button]");
    if (button) button.focus();
  });
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-dismiss-confirm]")) closeConfirmation();
    else if (event.target.closest("[data-confirm-button]")) setTimeout(closeConfirmation, 0);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") closeConfirmation();
  });
  document.addEventListener("htmx:sendError", function () {
    showToast("We couldn't reach the server. Check your connection and try again.");
  });
})();
