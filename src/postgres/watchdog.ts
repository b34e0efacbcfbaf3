/**
 * A hardware (or softdog) watchdog behind the lease guard, as Patroni uses one: the guard writes
 * to the device at every lease renewal and closes it with the magic 'V' when it disarms, so if the
 * guard itself (or the whole machine's userspace) stops, the machine is reset before another node
 * may take the lock. Checked without opening the device: opening it arms it.
 */
import { accessSync, constants, existsSync, readFileSync, realpathSync } from 'node:fs';
import { basename } from 'node:path';

export type WatchdogMode = 'off' | 'automatic' | 'required';

export type WatchdogCheck = { readonly usable: true } | { readonly usable: false; readonly reason: string };

/** Whether `device` exists, is writable, and fires within `maxTimeoutS` (its timeout as sysfs shows it). */
export function checkWatchdog(device: string, maxTimeoutS: number): WatchdogCheck {
  if (!existsSync(device)) return { usable: false, reason: `${device} does not exist` };
  try {
    accessSync(device, constants.W_OK);
  } catch {
    return { usable: false, reason: `${device} is not writable by this user` };
  }
  const name = basename(realpathSync(device));
  const sysfs = `/sys/class/watchdog/${name === 'watchdog' ? 'watchdog0' : name}/timeout`;
  let timeout: number;
  try {
    timeout = Number(readFileSync(sysfs, 'utf8').trim());
  } catch {
    return { usable: false, reason: `cannot read its timeout from ${sysfs}` };
  }
  if (!(timeout > 0 && timeout <= maxTimeoutS)) {
    return {
      usable: false,
      reason: `its timeout is ${timeout} s; it must fire before the leader lock may expire (at most ${maxTimeoutS} s: set it lower, e.g. softdog soft_margin)`,
    };
  }
  return { usable: true };
}
