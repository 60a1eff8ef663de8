// The public face of detect/: content detectors that turn text into labelled spans (issue 16).
// Only categories and offsets leave this folder; the matched text is never logged, thrown or
// stored by it.
export { countLabels, DETECTOR_VERSION, findSpans } from "./find-spans.js";
export { CATEGORIES, type Category, type Span } from "./span.js";
