// The card page: Stripe.js draws the card field and turns the card into a token, and the form
// posts only the token's card id. When the bank asks for 3-D Secure, Stripe.js runs it and
// the page reloads to show where the payment stands. Saving a card for later charges is the
// same field and Stripe.js's confirmCardSetup.
(function () {
  "use strict";

  function showError(text) {
    document.getElementById("card-error").textContent = text;
  }

  function collectCard(form) {
    var stripe = Stripe(form.dataset.stripeKey);
    var card = stripe.elements().create("card");
    card.mount("#card-element");
    var button = form.querySelector("button[type=submit]");
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      button.disabled = true;
      showError("");
      var result = await stripe.createToken(card);
      if (result.error) {
        showError(result.error.message || "Check your card details.");
        button.disabled = false;
        return;
      }
      form.elements.card.value = result.token.card.id;
      form.submit();
    });
  }

  async function authenticate(region) {
    var stripe = Stripe(region.dataset.stripeKey);
    await stripe.confirmCardPayment(region.dataset.clientSecret);
    window.location.assign(region.dataset.next);  // the server reads the outcome from Stripe
  }

  function saveCard(form) {
    var stripe = Stripe(form.dataset.stripeKey);
    var card = stripe.elements().create("card");
    card.mount("#card-element");
    var button = form.querySelector("button[type=submit]");
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      button.disabled = true;
      showError("");
      var result = await stripe.confirmCardSetup(form.dataset.clientSecret, {
        payment_method: { card: card },
      });
      if (result.error) {
        showError(result.error.message || "That card could not be saved.");
        button.disabled = false;
        return;
      }
      window.location.assign(form.dataset.next);  // the server reads the card from Stripe
    });
  }

  var form = document.getElementById("card-form");
  if (form) { collectCard(form); }
  var setupForm = document.getElementById("card-setup-form");
  if (setupForm) { saveCard(setupForm); }
  var region = document.getElementById("card-authenticate");
  if (region) { authenticate(region); }
})();
