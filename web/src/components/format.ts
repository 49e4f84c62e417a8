export const formatUsd = (usd: number): string =>
  `$${usd >= 1 || usd === 0 ? usd.toFixed(2) : usd.toPrecision(3)}`

export const formatCredits = (credits: number | null | undefined): string =>
  credits === null || credits === undefined ? '—' : formatUsd(credits / 1e6)

export const formatTime = (unix: number | null | undefined): string =>
  unix ? new Date(unix * 1000).toLocaleString() : '—'

/** Only icons served by this server are shown (no request leaves the console's origin). */
export const localIcon = (icon: string | undefined | null): string | undefined =>
  icon && (icon.startsWith('/') || icon.startsWith(window.location.origin + '/')) ? icon : undefined
