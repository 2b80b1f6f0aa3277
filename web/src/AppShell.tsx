import { useState } from 'react';
import { Link, Outlet, useNavigate } from 'react-router';
import { signOut, useSignedIn, type Me } from './auth/session';
import { Sidebar } from './chat/Sidebar';

/** The signed-in frame: conversations on the side, the page in the middle. */
export function AppShell({ me }: { me: Me }) {
  const [open, setOpen] = useState(false);
  const navigate = useNavigate();
  const startOver = useSignedIn();
  return (
    <div className={open ? 'shell menu-open' : 'shell'}>
      <header className="topbar">
        <button type="button" className="icon menu-button" aria-expanded={open} aria-controls="side" onClick={() => setOpen(!open)}>
          <span className="visually-hidden">Menu</span>☰
        </button>
        <Link to="/chat" className="brand">
          Tome
        </Link>
        <span className="tenant muted">{me.tenant.name}</span>
        <nav className="account" aria-label="Account">
          <Link to="/settings">{me.user.name || me.user.username}</Link>
          <button
            type="button"
            className="link"
            onClick={async () => {
              await signOut();
              await startOver();
              navigate('/signin');
            }}
          >
            Sign out
          </button>
        </nav>
      </header>
      <div id="side" className="side">
        <Sidebar onNavigate={() => setOpen(false)} />
      </div>
      <main className="main">
        <Outlet />
      </main>
    </div>
  );
}
