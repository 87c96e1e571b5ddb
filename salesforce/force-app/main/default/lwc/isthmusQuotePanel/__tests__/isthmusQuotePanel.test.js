import { createElement } from 'lwc';
import IsthmusQuotePanel from 'c/isthmusQuotePanel';
import validateQuote from '@salesforce/apex/IsthmusController.validateQuote';

jest.mock('@salesforce/apex/IsthmusController.validateQuote', () => ({ default: jest.fn() }), {
    virtual: true
});

const READY = {
    quoteId: '0Q0Sbx000000001AAA',
    status: 'READY',
    label: 'Ready to submit',
    variant: 'success',
    currencyCode: 'USD',
    total: '200.00',
    messages: [],
    lines: [
        {
            lineNo: 1,
            sku: 'SKU-0001',
            quantity: '2',
            uom: 'Box',
            unitPrice: '100.00',
            netUnitPrice: '100.00',
            priceStatus: 'MATCH',
            priceLabel: 'Matches ERP',
            availabilityStatus: 'AVAILABLE',
            availabilityLabel: 'Available',
            availableQuantity: '40',
            promiseDate: '2026-11-30'
        }
    ],
    credit: {
        status: 'OK',
        label: 'Credit OK',
        variant: 'success',
        currencyCode: 'USD',
        creditLimit: '50000.00',
        exposure: '12000.00',
        headroom: '38000.00',
        onHold: false
    },
    degraded: false,
    elapsedMs: 41.5,
    asOf: '2026-11-24T09:15:00Z'
};

const REVIEW = {
    ...READY,
    status: 'REVIEW',
    label: 'Review before submitting',
    variant: 'warning',
    messages: [
        {
            code: 'PRICE_MISMATCH',
            severity: 'WARNING',
            title: 'Price differs from the ERP',
            message: 'Quoted 100.00, ERP net 110.00',
            lineNo: 1
        }
    ],
    lines: [
        {
            ...READY.lines[0],
            netUnitPrice: '110.00',
            priceStatus: 'MISMATCH',
            priceLabel: 'Differs from ERP',
            availabilityStatus: 'PARTIAL',
            availabilityLabel: 'Partly available'
        }
    ]
};

const BLOCKED_DEGRADED = {
    ...READY,
    status: 'BLOCKED',
    label: 'Cannot be submitted',
    variant: 'error',
    degraded: true,
    asOf: '2026-11-24T08:00:00Z',
    messages: [
        {
            code: 'CREDIT_HOLD',
            severity: 'ERROR',
            title: 'Account on credit hold',
            message: 'Customer is on hold'
        }
    ],
    credit: {
        status: 'BLOCKED',
        label: 'Credit blocked',
        variant: 'error',
        currencyCode: 'USD',
        creditLimit: '1000.00',
        headroom: '-500.00',
        onHold: true,
        holdReason: 'Overdue invoices'
    },
    lines: [
        {
            ...READY.lines[0],
            netUnitPrice: null,
            priceStatus: 'UNAVAILABLE',
            priceLabel: 'Unknown',
            availabilityStatus: 'UNAVAILABLE',
            availabilityLabel: 'Unknown',
            promiseDate: null
        }
    ]
};

function apexError(payload) {
    return { status: 500, body: { message: JSON.stringify(payload) } };
}

async function flush() {
    // Let the Apex promise settle and the component re-render.
    for (let i = 0; i < 3; i += 1) {
        // eslint-disable-next-line no-await-in-loop
        await Promise.resolve();
    }
}

async function render(props = {}) {
    const element = createElement('c-isthmus-quote-panel', { is: IsthmusQuotePanel });
    Object.assign(element, { recordId: '0Q0Sbx000000001AAA', ...props });
    document.body.appendChild(element);
    await flush();
    return element;
}

const $ = (element, id) => element.shadowRoot.querySelector(`[data-id="${id}"]`);
const $$ = (element, selector) => Array.from(element.shadowRoot.querySelectorAll(selector));

describe('c-isthmus-quote-panel', () => {
    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
        jest.clearAllMocks();
    });

    it('asks the controller for the record and entity it is placed with', async () => {
        validateQuote.mockResolvedValue(READY);

        await render({ entity: 'DE01' });

        expect(validateQuote).toHaveBeenCalledTimes(1);
        expect(validateQuote).toHaveBeenCalledWith({
            recordId: '0Q0Sbx000000001AAA',
            entity: 'DE01'
        });
    });

    it('sends no entity when none is configured, so the default label applies', async () => {
        validateQuote.mockResolvedValue(READY);

        await render();

        expect(validateQuote).toHaveBeenCalledWith({
            recordId: '0Q0Sbx000000001AAA',
            entity: null
        });
    });

    it.each([
        [READY, 'Ready to submit', 'slds-theme_success'],
        [REVIEW, 'Review before submitting', 'slds-theme_warning'],
        [BLOCKED_DEGRADED, 'Cannot be submitted', 'slds-theme_error']
    ])('shows the %s.status verdict with its label and colour', async (answer, label, theme) => {
        validateQuote.mockResolvedValue(answer);

        const element = await render();

        const verdict = $(element, 'verdict');
        expect(verdict.textContent).toBe(label);
        expect(verdict.className).toContain('slds-badge');
        expect(verdict.className).toContain(theme);
    });

    it('falls back to the info colour for a variant it does not know', async () => {
        validateQuote.mockResolvedValue({ ...READY, variant: 'shiny' });

        const element = await render();

        expect($(element, 'verdict').className).toContain('slds-theme_info');
    });

    it('shows each line with its price and availability', async () => {
        validateQuote.mockResolvedValue(REVIEW);

        const element = await render();

        const rows = $$(element, 'tr[data-line]');
        expect(rows).toHaveLength(1);
        const price = rows[0].querySelector('[data-id="price"]');
        const stock = rows[0].querySelector('[data-id="availability"]');
        expect(price.textContent).toBe('Differs from ERP');
        expect(price.className).toBe('slds-text-color_error');
        expect(stock.textContent.trim()).toBe('Partly available');
        expect(rows[0].textContent).toContain('SKU-0001');
        expect(rows[0].textContent).toContain('2 Box');
    });

    it('shows one titled message per reason, with its line', async () => {
        validateQuote.mockResolvedValue(REVIEW);

        const element = await render();

        const items = $$(element, '[data-id="messages"] li');
        expect(items).toHaveLength(1);
        expect(items[0].dataset.code).toBe('PRICE_MISMATCH');
        expect(items[0].textContent).toContain('Price differs from the ERP');
        expect(items[0].textContent).toContain('Line 1: Quoted 100.00, ERP net 110.00');
        expect(items[0].querySelector('lightning-icon').iconName).toBe('utility:warning');
    });

    it('shows credit headroom against the limit', async () => {
        validateQuote.mockResolvedValue(READY);

        const element = await render();

        expect($(element, 'credit-status').textContent).toBe('Credit OK');
        expect($(element, 'headroom').value).toBe('38000.00');
        expect($(element, 'headroom').currencyCode).toBe('USD');
        expect($(element, 'credit-limit').value).toBe('50000.00');
        expect($(element, 'hold')).toBeNull();
        expect($(element, 'total').value).toBe('200.00');
    });

    it('marks a degraded answer with the time its data is from', async () => {
        validateQuote.mockResolvedValue(BLOCKED_DEGRADED);

        const element = await render();

        expect($(element, 'degraded').textContent).toContain('Degraded');
        expect($(element, 'as-of').value).toBe('2026-11-24T08:00:00Z');
        expect($(element, 'hold').textContent).toContain('Overdue invoices');
        expect($(element, 'headroom').className).toBe('slds-text-color_error');
        expect($$(element, '[data-id="messages"] lightning-icon')[0].iconName).toBe(
            'utility:error'
        );
    });

    it('shows no degraded badge for a fresh answer', async () => {
        validateQuote.mockResolvedValue(READY);

        const element = await render();

        expect($(element, 'degraded')).toBeNull();
    });

    it('shows credit as unknown when the gateway could not check it', async () => {
        validateQuote.mockResolvedValue({
            ...READY,
            credit: { status: 'UNAVAILABLE', label: 'Credit unknown', variant: 'info' }
        });

        const element = await render();

        expect($(element, 'credit-status').textContent).toBe('Credit unknown');
        expect($(element, 'credit-status').className).toContain('slds-theme_info');
        expect($(element, 'headroom')).toBeNull();
    });

    it('shows a gateway problem with its fields, reference and no stale verdict', async () => {
        validateQuote.mockRejectedValue(
            apexError({
                code: 'validation_error',
                statusCode: 422,
                title: 'Invalid request',
                detail: '1 field is invalid',
                correlationId: 'sf-0123456789abcdef',
                fieldErrors: [
                    { pointer: '/lines/0/quantity', detail: 'Expected a decimal string' }
                ],
                retryable: false
            })
        );

        const element = await render();

        expect($(element, 'verdict')).toBeNull();
        expect($(element, 'problem-title').textContent).toBe('Invalid request');
        expect($(element, 'problem-detail').textContent).toBe('1 field is invalid');
        expect($(element, 'problem-fields').textContent).toContain('/lines/0/quantity');
        expect($(element, 'problem-reference').textContent).toContain('sf-0123456789abcdef');
        expect($(element, 'problem-hint').textContent).toBe('');
    });

    it('says when to try again after a rate limit', async () => {
        validateQuote.mockRejectedValue(
            apexError({
                code: 'rate_limited',
                statusCode: 429,
                title: 'Too many requests',
                detail: 'Rate limit exhausted',
                correlationId: 'sf-1',
                fieldErrors: [],
                retryable: true,
                retryAfterSeconds: 11.2
            })
        );

        const element = await render();

        expect($(element, 'problem-hint').textContent).toBe('Try again in 12 s.');
        expect($(element, 'problem-fields')).toBeNull();
    });

    it('shows a platform error that is not an Isthmus problem', async () => {
        validateQuote.mockRejectedValue({ body: { message: 'Insufficient privileges' } });

        const element = await render();

        expect($(element, 'problem-title').textContent).toBe('Isthmus could not be asked');
        expect($(element, 'problem-detail').textContent).toBe('Insufficient privileges');
        expect($(element, 'problem-hint').textContent).toBe('Try again in a moment.');
        expect($(element, 'problem-reference')).toBeNull();
    });

    it('asks again on refresh and clears the error when the gateway answers', async () => {
        validateQuote
            .mockRejectedValueOnce(
                apexError({
                    code: 'callout_failed',
                    title: 'Isthmus could not be reached',
                    retryable: true
                })
            )
            .mockResolvedValueOnce(READY);
        const element = await render();
        expect($(element, 'problem')).not.toBeNull();

        $(element, 'refresh').click();
        await flush();

        expect(validateQuote).toHaveBeenCalledTimes(2);
        expect($(element, 'problem')).toBeNull();
        expect($(element, 'verdict').textContent).toBe('Ready to submit');
    });

    it('shows a spinner while asking and disables refresh', async () => {
        let answer;
        validateQuote.mockReturnValue(
            new Promise((resolve) => {
                answer = resolve;
            })
        );
        const element = await render();

        expect(element.shadowRoot.querySelector('lightning-spinner')).not.toBeNull();
        expect($(element, 'refresh').disabled).toBe(true);

        answer(READY);
        await flush();

        expect(element.shadowRoot.querySelector('lightning-spinner')).toBeNull();
        expect($(element, 'refresh').disabled).toBe(false);
    });
});
