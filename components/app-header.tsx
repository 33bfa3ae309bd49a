'use client';

import Link from 'next/link';
import { usePathname } from 'next/navigation';
import { HealthIndicator } from './health-indicator';

/** The console's pages; a trace page belongs to Traces. */
const NAV = [
  { href: '/', label: 'Traces', matches: (p: string) => p === '/' || p.startsWith('/traces/') },
  { href: '/alerts', label: 'Alerts', matches: (p: string) => p === '/alerts' || p.startsWith('/alerts/') },
  { href: '/spend', label: 'Spend', matches: (p: string) => p === '/spend' || p.startsWith('/spend/') },
  { href: '/settings', label: 'Settings', matches: (p: string) => p === '/settings' || p.startsWith('/settings/') },
] as const;

export function AppHeader() {
  const pathname = usePathname() ?? '/';
  return (
    <header className="app-header">
      {/* No prefetching: every page here is rendered on demand and reads live data, so a prefetch on each page load
          only made the server render the other pages while it was reading this page's first rows. */}
      <Link href="/" prefetch={false} className="brand" aria-label="Canopy — all traces">
        <svg width="18" height="18" viewBox="0 0 24 24" aria-hidden="true">
          <path d="M12 3 4 11h5l-4 5h6v5h2v-5h6l-4-5h5z" fill="currentColor" />
        </svg>
        <span>Canopy</span>
      </Link>
      <nav className="app-nav" aria-label="Main">
        {NAV.map((item) => {
          const active = item.matches(pathname);
          return (
            <Link key={item.href} href={item.href} prefetch={false} className={active ? 'is-active' : undefined} aria-current={active ? 'page' : undefined}>
              {item.label}
            </Link>
          );
        })}
      </nav>
      <div className="app-header-right">
        <HealthIndicator />
      </div>
    </header>
  );
}
