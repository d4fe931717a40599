/**
 * @module web_ui/main
 * Entry of the dashboard's single-page app (built by Vite into build/web_ui/).
 */
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App.tsx";
import "./styles.css";

const root = document.getElementById("root");
if (!root) throw new Error("index.html has no #root element");
createRoot(root).render(<StrictMode><App /></StrictMode>);
