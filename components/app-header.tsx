import Link from 'next/link';
import { HealthIndicator } from './health-indicator';

export function AppHeader() {
  return (
    <header className="app-header">
      <Link href="/" className="brand" aria-label="Canopy — all traces">
        <svg width="18" height="18" viewBox="0 0 24 24" aria-hidden="true">
          <path d="M12 3 4 11h5l-4 5h6v5h2v-5h6l-4-5h5z" fill="currentColor" />
        </svg>
        <span>Canopy</span>
      </Link>
      <nav className="app-nav">
        <Link href="/">Traces</Link>
      </nav>
      <div className="app-header-right">
        <HealthIndicator />
      </div>
    </header>
  );
}
