"use client";

import { useState, type ReactNode } from "react";

/**
 * At phone width the backend switcher folds into a menu: only the chosen backend shows until
 * "Backends" is opened (CSS does the hiding, so on a wide screen the toggle is not shown and
 * every backend stays one click away).
 */
export function SwitcherMenu({ children }: { children: ReactNode }) {
  const [open, setOpen] = useState(false);
  return (
    <div className="switcher-menu" data-open={open ? "true" : "false"}>
      <button type="button" className="button small menu-toggle" aria-expanded={open} aria-controls="backend-menu" onClick={() => setOpen(!open)}>
        Backends <span aria-hidden="true">{open ? "▴" : "▾"}</span>
      </button>
      <div id="backend-menu" className="switcher-menu-body">
        {children}
      </div>
    </div>
  );
}
