/**
 * Minimal valid PDFs written by hand for tests (ISO 32000-1 §7.5: header, objects, a
 * cross-reference table with exact offsets, trailer): one page per entry of `pages`, each an
 * uncompressed (or Flate-compressed, §7.4.4) content stream showing its lines in Helvetica
 * (`BT /F1 12 Tf (line) Tj ET`). Optionally a document title (§14.3.3), a text annotation
 * (a comment, §12.5.6.4) on the first page, an embedded file (§7.11.4), and an `/Encrypt`
 * dictionary whose keys match no password, so a reader must refuse it.
 */
import { deflateSync } from "node:zlib";

export interface PdfOptions {
  /** Compress the content streams with FlateDecode. */
  flate?: boolean;
  /** Add a standard security handler (RC4, revision 2) that no password opens. */
  encrypted?: boolean;
  /** The document information's `/Title`. */
  title?: string;
  /** The `/Contents` of a text annotation on the first page. */
  note?: string;
  /** An embedded file's text (an attachment). */
  attachment?: string;
}

/** A PDF whose page i shows the lines `pages[i]`, as bytes. */
export function makePdf(pages: readonly (readonly string[])[], opts: PdfOptions = {}): Buffer {
  const esc = (s: string) => s.replace(/[\\()]/g, (c) => `\\${c}`);
  const objects: Buffer[] = [];
  const add = (body: Buffer | string): number =>
    objects.push(Buffer.isBuffer(body) ? body : Buffer.from(body, "latin1"));
  add(""); // the catalog, written once the attachment (if any) is known
  add(""); // the page tree, written once its kids are known
  const font = add("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>");
  const kids: number[] = [];
  for (const [n, lines] of pages.entries()) {
    const ops = lines.map((l, i) => `${i === 0 ? "72 720 Td" : "0 -14 Td"} (${esc(l)}) Tj`).join("\n");
    const raw = Buffer.from(`BT /F1 12 Tf\n${ops}\nET`, "latin1");
    const data = opts.flate ? deflateSync(raw) : raw;
    const contents = add(
      Buffer.concat([
        Buffer.from(`<< /Length ${data.length}${opts.flate ? " /Filter /FlateDecode" : ""} >>\nstream\n`),
        data,
        Buffer.from("\nendstream"),
      ]),
    );
    kids.push(
      add(
        `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents ${contents} 0 R /Resources << /Font << /F1 ${font} 0 R >> >>${
          n === 0 && opts.note !== undefined
            ? ` /Annots [<< /Type /Annot /Subtype /Text /Rect [72 600 92 620] /Contents (${esc(opts.note)}) >>]`
            : ""
        } >>`,
      ),
    );
  }
  objects[1] = Buffer.from(
    `<< /Type /Pages /Kids [${kids.map((k) => `${k} 0 R`).join(" ")}] /Count ${kids.length} >>`,
  );
  const file =
    opts.attachment === undefined
      ? undefined
      : add(
          `<< /Type /EmbeddedFile /Length ${opts.attachment.length} >>\nstream\n${opts.attachment}\nendstream`,
        );
  objects[0] = Buffer.from(
    `<< /Type /Catalog /Pages 2 0 R${
      file
        ? ` /Names << /EmbeddedFiles << /Names [(a.txt) << /Type /Filespec /F (a.txt) /EF << /F ${file} 0 R >> >>] >> >>`
        : ""
    } >>`,
  );
  const info = opts.title === undefined ? undefined : add(`<< /Title (${esc(opts.title)}) >>`);
  const encrypt = opts.encrypted
    ? add(`<< /Filter /Standard /V 1 /R 2 /O <${"00".repeat(32)}> /U <${"00".repeat(32)}> /P -4 >>`)
    : undefined;

  const chunks: Buffer[] = [Buffer.from("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "latin1")];
  let at = chunks[0]!.length;
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    const obj = Buffer.concat([Buffer.from(`${i + 1} 0 obj\n`), body, Buffer.from("\nendobj\n")]);
    offsets.push(at);
    chunks.push(obj);
    at += obj.length;
  });
  const xref = `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets
    .map((o) => `${String(o).padStart(10, "0")} 00000 n \n`)
    .join("")}`;
  const id = "ab".repeat(16);
  const trailer = [
    `/Size ${objects.length + 1} /Root 1 0 R`,
    info ? ` /Info ${info} 0 R` : "",
    encrypt ? ` /Encrypt ${encrypt} 0 R /ID [<${id}> <${id}>]` : "",
  ].join("");
  chunks.push(Buffer.from(`${xref}trailer\n<< ${trailer} >>\nstartxref\n${at}\n%%EOF\n`, "latin1"));
  return Buffer.concat(chunks);
}
