import { LightningElement, api } from 'lwc';
import validateQuote from '@salesforce/apex/IsthmusController.validateQuote';
import { themeClass, toProblem } from 'c/isthmusErrors';

const PRICE_CLASS = {
    MATCH: 'slds-text-color_success',
    MISMATCH: 'slds-text-color_error',
    UNAVAILABLE: 'slds-text-color_weak'
};
const STOCK_CLASS = {
    AVAILABLE: 'slds-text-color_success',
    PARTIAL: 'slds-text-color_error',
    BACKORDER: 'slds-text-color_error',
    UNAVAILABLE: 'slds-text-color_weak'
};

/**
 * The ERP check of a quote, for Quote, Opportunity and Order record pages: the verdict with
 * its label and colour, per-line price and availability, credit headroom, a "degraded / as
 * of" badge when Isthmus answered from cache, refresh, and clear errors. All data comes from
 * IsthmusController.validateQuote.
 */
export default class IsthmusQuotePanel extends LightningElement {
    @api recordId;
    /** Legal entity (App Builder property); blank means the Isthmus_Default_Entity label. */
    @api entity;

    result;
    problem;
    loading = false;

    connectedCallback() {
        this.refresh();
    }

    /** Asks Isthmus again (the refresh button, or a parent component). */
    @api
    async refresh() {
        this.loading = true;
        this.problem = undefined;
        try {
            this.result = await validateQuote({
                recordId: this.recordId,
                entity: this.entity || null
            });
        } catch (error) {
            this.result = undefined;
            this.problem = toProblem(error);
        } finally {
            this.loading = false;
        }
    }

    handleRefresh() {
        this.refresh();
    }

    get hasResult() {
        return Boolean(this.result);
    }

    get verdictClass() {
        return `slds-badge ${themeClass(this.result.variant)}`;
    }

    get isDegraded() {
        return this.hasResult && this.result.degraded === true;
    }

    get hasMessages() {
        return this.hasResult && (this.result.messages || []).length > 0;
    }

    get messages() {
        return (this.result.messages || []).map((message, index) => ({
            key: `${message.code}-${index}`,
            ...message,
            iconName: message.severity === 'ERROR' ? 'utility:error' : 'utility:warning',
            iconVariant: message.severity === 'ERROR' ? 'error' : 'warning',
            linePrefix: message.lineNo ? `Line ${message.lineNo}: ` : ''
        }));
    }

    get lines() {
        return (this.result.lines || []).map((line) => ({
            ...line,
            key: `line-${line.lineNo}`,
            priceClass: PRICE_CLASS[line.priceStatus] || '',
            availabilityClass: STOCK_CLASS[line.availabilityStatus] || ''
        }));
    }

    get hasLines() {
        return this.hasResult && (this.result.lines || []).length > 0;
    }

    get credit() {
        return (
            this.result.credit || {
                status: 'UNAVAILABLE',
                label: 'Credit unknown',
                variant: 'info'
            }
        );
    }

    get creditClass() {
        return `slds-badge ${themeClass(this.credit.variant)}`;
    }

    get hasCreditFigures() {
        return this.credit.status !== 'UNAVAILABLE';
    }

    get headroomClass() {
        const headroom = Number(this.credit.headroom);
        const total = Number(this.result.total);
        return Number.isFinite(headroom) && headroom < total
            ? 'slds-text-color_error'
            : 'slds-text-color_default';
    }

    get hasProblem() {
        return Boolean(this.problem);
    }

    get hasFieldErrors() {
        return this.hasProblem && this.problem.fieldErrors.length > 0;
    }

    get fieldErrors() {
        return this.problem.fieldErrors.map((field, index) => ({
            key: `field-${index}`,
            ...field
        }));
    }

    get retryHint() {
        if (!this.problem.retryable) {
            return '';
        }
        return this.problem.retryAfterSeconds
            ? `Try again in ${Math.ceil(this.problem.retryAfterSeconds)} s.`
            : 'Try again in a moment.';
    }
}
