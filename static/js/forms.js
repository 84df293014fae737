// Form errors that reach the user (docs/accessibility.md): after a failed submit the page comes
// back with an error summary; focus moves to it, so a screen reader reads it at once, and each
// of its links moves focus to its field. An action that redirects back with an error message
// (Assign, Remove...) gets the same: focus on the message. Marks the document as scripted for
// the stylesheet.
document.documentElement.classList.add("js");
document.addEventListener("DOMContentLoaded", () => {
  const summary = document.getElementById("error-summary");
  if (!summary) {
    const message = document.querySelector(".message.error[tabindex]");
    if (message) message.focus();
    return;
  }
  summary.focus();
  summary.addEventListener("click", (event) => {
    const link = event.target.closest("a[href^='#']");
    const field = link && document.getElementById(link.getAttribute("href").slice(1));
    if (!field) return;
    event.preventDefault();
    const label = document.querySelector(`label[for="${field.id}"]`) || field;
    label.scrollIntoView();
    field.focus();
  });
});
