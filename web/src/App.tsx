import { Navigate, Route, Routes, useParams } from 'react-router';
import { AppShell } from './AppShell';
import { ForgotPage, ResetPage } from './auth/PasswordPages';
import { SetupPage } from './auth/SetupPage';
import { SignInPage } from './auth/SignInPage';
import { SignUpPage } from './auth/SignUpPage';
import { useMe, useSetup } from './auth/session';
import { ConversationView } from './chat/ConversationView';
import { DocumentViewer } from './documents/DocumentViewer';
import { SettingsPage } from './settings/SettingsPage';

export function App() {
  const setup = useSetup();
  const me = useMe();
  if (setup.isPending || me.isPending) {
    return (
      <p className="loading" role="status">
        Loading…
      </p>
    );
  }
  if (setup.data?.needs_admin) {
    return (
      <Routes>
        <Route path="*" element={<SetupPage />} />
      </Routes>
    );
  }
  const user = me.data;
  if (!user) {
    return (
      <Routes>
        <Route path="/signin" element={<SignInPage />} />
        <Route path="/signup" element={<SignUpPage />} />
        <Route path="/forgot" element={<ForgotPage />} />
        <Route path="/reset" element={<ResetPage />} />
        <Route path="*" element={<Navigate to="/signin" replace />} />
      </Routes>
    );
  }
  return (
    <Routes>
      <Route element={<AppShell me={user} />}>
        <Route path="/chat" element={<ConversationView key="new" />} />
        <Route path="/chat/:id" element={<ConversationViewKeyed />} />
        <Route path="/settings" element={<SettingsPage me={user} />} />
        <Route path="/documents/:id" element={<DocumentViewer />} />
      </Route>
      <Route path="*" element={<Navigate to="/chat" replace />} />
    </Routes>
  );
}

/** A new view per conversation, so that nothing of one leaks into the next. */
function ConversationViewKeyed() {
  const { id } = useParams();
  return <ConversationView key={id} />;
}
