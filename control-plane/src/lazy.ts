/**
 * Dependencies loaded where they are first used rather than at start. pdfkit (about 25 MB and a second of
 * loading on these machines), twilio (20 MB, a second) and nodemailer (13 MB, half a second) serve reports,
 * exports and pages, which a control plane may not make for hours; loaded at start they were a third of its
 * resident memory and most of its start after the database (bench:startup, docs/development.md). require
 * caches each module, so only the first report or page pays, once. Their CommonJS builds are loaded
 * synchronously, so the code that uses them stays synchronous. Likewise qrcode (about 60 files), drawn only on
 * the console's TOTP set-up page, and openid-client with jose (an ES module, so imported: its callers are async),
 * used only when a console sign-in goes through an OIDC provider.
 */
import { createRequire } from 'node:module';
import type nodemailer from 'nodemailer';
import type PDFDocument from 'pdfkit';
import type QRCode from 'qrcode';
import type twilio from 'twilio';

const require = createRequire(import.meta.url);

export const loadPdfkit = () => require('pdfkit') as typeof PDFDocument;
export const loadTwilio = () => require('twilio') as typeof twilio;
export const loadNodemailer = () => require('nodemailer') as typeof nodemailer;
export const loadQrcode = () => require('qrcode') as typeof QRCode;
export const loadOpenidClient = () => import('openid-client');
