// The card pages: Stripe.js draws the card field. Paying: the card becomes a token and the form
// posts only the token's card id; when the bank asks for 3-D Secure, Stripe.js runs it and the
// page reloads to show where the payment stands. Saving a card for later charges: Stripe.js's
// confirmCardSetup, then the server reads the saved card from Stripe.
(function () {
  "use strict";

  function showError(text) {
    document.getElementById("card-error").textContent = text;
  }

  // Mount the card field in `form`; on submit, `use(stripe, card)` answers {error} or {done}.
  function onCard(form, use) {
    var stripe = Stripe(form.dataset.stripeKey);
    var card = stripe.elements().create("card");
    card.mount("#card-element");
    var button = form.querySelector("button[type=submit]");
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      button.disabled = true;
      showError("");
      var result = await use(stripe, card);
      if (result.error) {
        showError(result.error.message || "Check your card details.");
        button.disabled = false;
      }
    });
  }

  async function payByCard(stripe, card) {
    var form = document.getElementById("card-form");
    var result = await stripe.createToken(card);
    if (result.error) { return result; }
    form.elements.card.value = result.token.card.id;
    form.submit();
    return {};
  }

  async function saveCard(stripe, card) {
    var form = document.getElementById("card-setup-form");
    var result = await stripe.confirmCardSetup(form.dataset.clientSecret, {
      payment_method: { card: card },
    });
    if (result.error) { return result; }
    window.location.assign(form.dataset.next);
    return {};
  }

  async function authenticate(region) {
    var stripe = Stripe(region.dataset.stripeKey);
    await stripe.confirmCardPayment(region.dataset.clientSecret);
    window.location.assign(region.dataset.next);  // the server reads the outcome from Stripe
  }

  var form = document.getElementById("card-form");
  if (form) { onCard(form, payByCard); }
  var setupForm = document.getElementById("card-setup-form");
  if (setupForm) { onCard(setupForm, saveCard); }
  var region = document.getElementById("card-authenticate");
  if (region) { authenticate(region); }
})();
