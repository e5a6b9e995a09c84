/** Opens a URL in the user's browser (`open` on macOS, `start` on Windows, `xdg-open` elsewhere). */
import { spawn } from 'node:child_process';

/** Starts the opener and returns at once; false when it could not even be started. */
export function openInBrowser(url: string, platform: NodeJS.Platform = process.platform): boolean {
  const [command, args] =
    platform === 'darwin'
      ? ['open', [url]]
      : platform === 'win32'
        ? ['cmd', ['/c', 'start', '""', url]]
        : ['xdg-open', [url]];
  try {
    const child = spawn(command, args, { detached: true, stdio: 'ignore' });
    // A missing opener (no desktop) is not a failure: the URL is printed as well.
    child.on('error', () => {});
    child.unref();
    return true;
  } catch {
    return false;
  }
}
