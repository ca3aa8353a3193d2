import type { Workers } from '../jobs/workers.ts';
import type { MailSender } from '../notify/providers.ts';
import { USER_MAIL_TASK, UserService } from './service.ts';
import { errorMessage } from '@concierge-ops/shared/errors';

interface UserMail {
  to: string;
  name: string;
  purpose: 'invite' | 'reset';
  link: string;
  hours: number;
}

/** Invite and reset mails as jobs: added in the transaction that made the link, retried until sent. */
export function registerUserMailJob(
  workers: Workers,
  users: UserService,
  mail: MailSender | undefined,
): void {
  workers.register({
    [USER_MAIL_TASK]: async (payload) => {
      const p = payload as UserMail;
      try {
        if (!mail) throw new Error('SMTP_URL is not configured: invite and reset links cannot be mailed');
        await mail.send({ to: p.to, ...UserService.mailText(p) });
      } catch (err) {
        users.logMailFailure(errorMessage(err));
        throw err;
      }
    },
  });
}
