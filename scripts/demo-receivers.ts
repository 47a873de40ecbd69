/**
 * Stand-ins for Slack, PagerDuty and the mail server in the demo (the real ones are not reachable
 * from a laptop demo): each notification the notifier sends is appended to a log file.
 */
import { appendFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { SMTPServer } from 'smtp-server';

const [logFile = 'notifications.log', httpPort = '3100', smtpPort = '2525'] = process.argv.slice(2);
const record = (channel: string, body: string) =>
  appendFileSync(logFile, `--- ${new Date().toISOString()} ${channel}\n${body}\n`);

createServer((req, res) => {
  let body = '';
  req.on('data', (chunk: Buffer) => (body += chunk.toString()));
  req.on('end', () => {
    record(req.url === '/pagerduty' ? 'PagerDuty' : 'Slack', body);
    res.writeHead(req.url === '/pagerduty' ? 202 : 200, { 'content-type': 'application/json' });
    res.end(req.url === '/pagerduty' ? '{"status":"success","message":"Event processed"}' : 'ok');
  });
}).listen(Number(httpPort), '127.0.0.1');

new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  onData(stream, session, callback) {
    let mail = '';
    stream.on('data', (chunk: Buffer) => (mail += chunk.toString()));
    stream.on('end', () => {
      record(`email to ${session.envelope.rcptTo.map((r) => r.address).join(', ')}`, mail);
      callback();
    });
  },
}).listen(Number(smtpPort), '127.0.0.1');
