import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";

// root-without-error-boundary: a render error anywhere unmounts the whole app.
createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
