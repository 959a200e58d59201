// Members page: invite by email, change a role, remove a member or withdraw an invite, through
// /admin/members*. The list is re-read from the server after every change.
(() => {
  const { api, refreshRegion, announce, jsonForm } = window.SIMO;
  const LIST = 'members-list';

  const inviteForm = document.getElementById('invite-form');
  if (inviteForm) {
    jsonForm(inviteForm, async (data) => {
      const email = String(data.get('email') || '').trim();
      const role = String(data.get('role') || 'developer');
      await api('POST', '/admin/members/invite', { email, role });
      announce('status', `Invitation mailed to ${email}.`, 'ok');
      inviteForm.reset();
      await refreshRegion(LIST);
    });
  }

  // Delegated: rows are replaced when the list is refreshed.
  document.addEventListener('submit', async (event) => {
    const form = event.target instanceof Element ? event.target.closest('form[data-member-action]') : null;
    if (!form) return;
    event.preventDefault();
    const id = encodeURIComponent(form.getAttribute('data-member-id'));
    const button = form.querySelector('button');
    button.disabled = true;
    try {
      if (form.getAttribute('data-member-action') === 'role') {
        const role = new FormData(form).get('role');
        await api('PATCH', `/admin/members/${id}`, { role });
        announce('status', 'Role changed.', 'ok');
      } else {
        await api('DELETE', `/admin/members/${id}`);
        announce('status', 'Removed.', 'ok');
      }
      await refreshRegion(LIST);
    } catch (err) {
      announce('status', err.message, 'error');
    } finally {
      button.disabled = false;
    }
  });
})();
