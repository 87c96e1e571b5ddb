/**
 * Turns whatever an Apex call rejected with into one problem object the Isthmus components
 * show: IsthmusController sends an AuraHandledException whose message is a JSON object
 * (code, title, detail, fieldErrors, correlationId, retryable, retryAfterSeconds); anything
 * else (a platform error, a lost connection) becomes a problem with a plain detail.
 */
const FALLBACK_TITLE = 'Isthmus could not be asked';

function messageOf(error) {
    if (!error) {
        return '';
    }
    if (typeof error === 'string') {
        return error;
    }
    const body = error.body;
    if (Array.isArray(body)) {
        return body
            .map((item) => item && item.message)
            .filter(Boolean)
            .join(', ');
    }
    if (body && typeof body.message === 'string') {
        return body.message;
    }
    if (body && body.pageErrors && body.pageErrors.length) {
        return body.pageErrors.map((item) => item.message).join(', ');
    }
    return typeof error.message === 'string' ? error.message : '';
}

export function toProblem(error) {
    const message = messageOf(error);
    let parsed;
    if (message.trim().startsWith('{')) {
        try {
            parsed = JSON.parse(message);
        } catch (e) {
            parsed = undefined;
        }
    }
    if (parsed && typeof parsed === 'object') {
        return {
            code: parsed.code || 'unknown',
            title: parsed.title || FALLBACK_TITLE,
            detail: parsed.detail || '',
            statusCode: parsed.statusCode || 0,
            correlationId: parsed.correlationId || null,
            fieldErrors: Array.isArray(parsed.fieldErrors) ? parsed.fieldErrors : [],
            retryable: parsed.retryable === true,
            retryAfterSeconds: parsed.retryAfterSeconds ?? null
        };
    }
    return {
        code: 'unknown',
        title: FALLBACK_TITLE,
        detail: message || 'Unknown error',
        statusCode: 0,
        correlationId: null,
        fieldErrors: [],
        retryable: true,
        retryAfterSeconds: null
    };
}

/** SLDS theme class for a gateway variant (success, warning, error, info). */
export function themeClass(variant) {
    const known = ['success', 'warning', 'error', 'info'];
    return `slds-theme_${known.includes(variant) ? variant : 'info'}`;
}
