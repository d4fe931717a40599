/**
 * @module web_ui/components/Logo
 * The Stingray mark (a ray seen from above), and the little line icons of the navigation.
 */
import type { ReactNode } from "react";

export function Logo(p: { size?: number }): ReactNode {
  const s = p.size ?? 28;
  return (
    <svg width={s} height={s} viewBox="0 0 32 32" aria-hidden="true" className="logo">
      <defs>
        <linearGradient id="ray-g" x1="0" y1="0" x2="1" y2="1">
          <stop offset="0" stopColor="#60a5fa" /><stop offset="1" stopColor="#6366f1" />
        </linearGradient>
      </defs>
      <path d="M16 4 C20 9 25 12 30 14 C25 16 20 17 17 20 L16 20 L15 20 C12 17 7 16 2 14 C7 12 12 9 16 4 Z" fill="url(#ray-g)" />
      <path d="M16 20 C16.5 24 17.5 27 19.5 30" stroke="#6366f1" strokeWidth="1.6" fill="none" strokeLinecap="round" />
    </svg>
  );
}

const ICONS: Record<string, string> = {
  overview: "M3 13h8V3H3zm0 8h8v-6H3zm10 0h8V11h-8zm0-18v6h8V3z",
  nodes: "M4 4h16v6H4zM4 14h16v6H4zM7 7h.01M7 17h.01",
  jobs: "M4 7h16v12H4zM9 7V5h6v2",
  actors: "M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8zM4 20c0-4 4-6 8-6s8 2 8 6",
  tasks: "M9 6h11M9 12h11M9 18h11M4 6l1 1 2-2M4 12l1 1 2-2M4 18l1 1 2-2",
  logs: "M6 3h9l4 4v14H6zM9 11h7M9 15h7M9 7h3",
  metrics: "M4 19V5M4 19h16M7 15l4-5 3 3 5-7",
  logout: "M15 4h4v16h-4M10 8l-4 4 4 4M6 12h10",
};

export function Icon(p: { name: keyof typeof ICONS | string }): ReactNode {
  return (
    <svg width="18" height="18" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round" aria-hidden="true">
      <path d={ICONS[p.name] ?? ""} />
    </svg>
  );
}
