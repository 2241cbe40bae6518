// The one JSON-over-HTTP call the screens make to the REST API: same-origin credentials,
// the CSRF token from the page, JSON both ways. Each screen decides how to word a refusal.

// Any csrf_token on the page will do: Django accepts every masked copy of the session's token.
export function csrfToken() {
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

// Resolves with {status, ok, data}; data is the parsed body, or null when there is none or
// it is not JSON. Rejects only when the server could not be reached.
export function request(method, url, body) {
  return fetch(url, {
    method: method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
    body: body === undefined ? undefined : JSON.stringify(body),
  }).then(function (response) {
    return response.text().then(function (text) {
      let data = null;
      try {
        data = text ? JSON.parse(text) : null;
      } catch (err) {
        data = null;
      }
      return { status: response.status, ok: response.ok, data: data };
    });
  });
}
