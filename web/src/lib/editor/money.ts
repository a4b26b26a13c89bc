import { HOURS_PER_MONTH } from '@cloudseed/shared/targets/aws/instances';

export const HOURS_PER_MONTH_LABEL = `AWS us-east-1 on-demand, ${HOURS_PER_MONTH} hours a month`;

export function monthlyUsd(hourlyUsd: number): number {
  return Math.round(hourlyUsd * HOURS_PER_MONTH * 100) / 100;
}

const usd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: 2 });

export function formatUsd(amount: number): string {
  return usd.format(amount);
}
