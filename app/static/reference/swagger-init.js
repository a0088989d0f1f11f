// Starts Swagger UI on /docs. A file rather than an inline script, so that the page runs under a
// Content-Security-Policy of `script-src 'self'`.
(function () {
  "use strict";
  const root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    validatorUrl: null, // the default validator badge would call an external service
    presets: [SwaggerUIBundle.presets.apis],
  });
})();
