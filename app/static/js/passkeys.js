// Passkeys: buttons with data-passkey="register|signin|second-step|verify" ask the server for
// WebAuthn options, hand them to the browser, and post the browser's answer back. The server
// answers {redirect} (go there) or {error} (shown beside the button).
(function () {
  "use strict";

  function csrfToken() {
    var headers = document.body.getAttribute("hx-headers");
    return headers ? JSON.parse(headers)["X-CSRFToken"] : "";
  }

  async function post(url, body) {
    var response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body || {}),
    });
    return response.json();
  }

  function say(button, text) {
    var status = document.getElementById(button.getAttribute("aria-describedby"));
    if (status) { status.textContent = text; }
  }

  async function run(button) {
    var purpose = button.dataset.passkey;
    var options = await post("/passkeys/options?for=" + encodeURIComponent(purpose));
    if (options.redirect) { window.location.assign(options.redirect); return; }
    if (options.error) { say(button, options.error); return; }
    var credential;
    if (purpose === "register") {
      credential = await navigator.credentials.create({
        publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options),
      });
    } else {
      credential = await navigator.credentials.get({
        publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options),
      });
    }
    var nameField = document.getElementById("passkey-name");
    var answer = await post("/passkeys/" + purpose + window.location.search, {
      credential: JSON.stringify(credential.toJSON()),
      name: nameField ? nameField.value : "",
    });
    if (answer.redirect) { window.location.assign(answer.redirect); return; }
    say(button, answer.error || "That did not work; try again.");
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-passkey]");
    if (!button) { return; }
    event.preventDefault();
    if (!window.PublicKeyCredential) { say(button, "This browser cannot use passkeys."); return; }
    run(button).catch(function () {
      say(button, "The passkey was not used (cancelled, or not available here).");
    });
  });
})();
