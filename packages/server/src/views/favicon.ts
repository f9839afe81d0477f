/**
 * Keyport's icon: a key on the brand colour, as SVG (one file for every size, light and dark
 * tabs alike). Served from `/assets/favicon.svg`; the layout links it.
 */
export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#4a3aff"/><circle cx="11.5" cy="16" r="5.5" fill="none" stroke="#fff" stroke-width="3"/><path d="M17 16h10m-3 0v4m-4-4v3" stroke="#fff" stroke-width="3" stroke-linecap="round"/></svg>`;
