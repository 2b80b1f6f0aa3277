import { useInfiniteQuery } from '@tanstack/react-query';
import { useEffect, useMemo, useRef, useState } from 'react';
import { Link, NavLink } from 'react-router';
import { api, must } from '../api/client';
import { groupByDay } from './group';

export function Sidebar({ onNavigate }: { onNavigate?: () => void }) {
  const [filter, setFilter] = useState('');
  const search = useRef<HTMLInputElement>(null);
  const list = useInfiniteQuery({
    queryKey: ['conversations'],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      must(api.GET('/api/v1/conversations', { params: { query: { limit: 50, cursor: pageParam } } })),
    getNextPageParam: (page) => page.next_cursor ?? undefined,
  });

  // Ctrl/Cmd+K searches conversations from anywhere.
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === 'k') {
        event.preventDefault();
        search.current?.focus();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const groups = useMemo(() => {
    const all = list.data?.pages.flatMap((page) => page.items) ?? [];
    const needle = filter.trim().toLowerCase();
    return groupByDay(needle ? all.filter((c) => c.title.toLowerCase().includes(needle)) : all, new Date());
  }, [list.data, filter]);

  return (
    <nav className="sidebar" aria-label="Conversations">
      <Link to="/chat" className="button primary new-chat" onClick={onNavigate}>
        New chat
      </Link>
      <label htmlFor="conversation-search" className="visually-hidden">
        Search conversations
      </label>
      <input
        id="conversation-search"
        ref={search}
        type="search"
        placeholder="Search (Ctrl+K)"
        value={filter}
        onChange={(event) => setFilter(event.target.value)}
      />
      <div className="conversation-list">
        {groups.map((group) => (
          <section key={group.label} aria-label={group.label}>
            <h2>{group.label}</h2>
            <ul>
              {group.items.map((conversation) => (
                <li key={conversation.id}>
                  <NavLink to={`/chat/${conversation.id}`} onClick={onNavigate}>
                    {conversation.title || 'New conversation'}
                  </NavLink>
                </li>
              ))}
            </ul>
          </section>
        ))}
        {list.hasNextPage && (
          <button type="button" className="link" onClick={() => void list.fetchNextPage()} disabled={list.isFetchingNextPage}>
            Load older conversations
          </button>
        )}
        {list.isSuccess && groups.length === 0 && <p className="muted">{filter ? 'No conversation matches.' : 'No conversations yet.'}</p>}
      </div>
    </nav>
  );
}
