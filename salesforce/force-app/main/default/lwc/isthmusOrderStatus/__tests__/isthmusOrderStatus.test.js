import { createElement } from 'lwc';
import IsthmusOrderStatus from 'c/isthmusOrderStatus';
import { subscribe, unsubscribe, onError } from 'lightning/empApi';
import getOrderStatus from '@salesforce/apex/IsthmusController.getOrderStatus';
import submitOrder from '@salesforce/apex/IsthmusController.submitOrder';

jest.mock('@salesforce/apex/IsthmusController.getOrderStatus', () => ({ default: jest.fn() }), {
    virtual: true
});
jest.mock('@salesforce/apex/IsthmusController.submitOrder', () => ({ default: jest.fn() }), {
    virtual: true
});

const ORDER_ID = '801Sbx000000001AAA';

const BOOKED = {
    id: 'ord_5f2a9c',
    externalRef: ORDER_ID,
    entity: 'US01',
    erp: 'infor_m3',
    status: 'booked',
    erpOrderNumber: '1000123',
    erpStatus: '22',
    currencyCode: 'USD',
    warnings: [],
    lines: [
        {
            lineNo: 1,
            itemId: 'ITEM-0001',
            quantity: '2',
            uom: 'EA',
            unitPrice: '9.50',
            status: '22'
        }
    ],
    attempts: 1,
    timeline: [
        { at: '2026-11-24T09:15:00Z', status: 'accepted', cause: 'submitted' },
        { at: '2026-11-24T09:15:01Z', status: 'submitting', cause: 'worker' },
        { at: '2026-11-24T09:15:02Z', status: 'booked', cause: 'ERP order 1000123' }
    ],
    failures: []
};

const RECORDS = {
    erpOrderNumber: '1000123',
    shipments: [
        {
            recordId: 'a01Sbx000000001AAA',
            name: 'DLV-1',
            erpId: 'US01-DLV-1',
            documentDate: '2026-11-24',
            status: 'Shipped',
            detail: 'UPS · 1Z999'
        }
    ],
    invoices: [
        {
            recordId: 'a02Sbx000000001AAA',
            name: 'INV-9001',
            erpId: 'US01-INV-9001',
            documentDate: '2026-11-25',
            status: 'Partially_Paid',
            amount: 286.5,
            currencyCode: 'USD',
            detail: 'Due 2026-12-25, open 86.50'
        }
    ],
    payments: []
};

const SUBMITTED = { ...RECORDS, submitted: true, order: BOOKED, problem: null };
const NOT_SENT = {
    submitted: false,
    order: null,
    problem: null,
    shipments: [],
    invoices: [],
    payments: []
};

async function flush() {
    for (let i = 0; i < 5; i += 1) {
        // eslint-disable-next-line no-await-in-loop
        await Promise.resolve();
    }
}

async function render(props = {}) {
    const element = createElement('c-isthmus-order-status', { is: IsthmusOrderStatus });
    Object.assign(element, { recordId: ORDER_ID, ...props });
    document.body.appendChild(element);
    await flush();
    return element;
}

const $ = (element, id) => element.shadowRoot.querySelector(`[data-id="${id}"]`);
const $$ = (element, selector) => Array.from(element.shadowRoot.querySelectorAll(selector));

/** The callback the component gave empApi.subscribe: what the platform calls per event. */
const published = () => subscribe.mock.calls[subscribe.mock.calls.length - 1][2];

const event = (payload) => ({
    data: { schema: 'x', payload, event: { replayId: 7 } },
    channel: '/event/ERP_Status_Event__e'
});

describe('c-isthmus-order-status', () => {
    beforeEach(() => {
        subscribe.mockResolvedValue({ id: 'sub-1', channel: '/event/ERP_Status_Event__e' });
    });

    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
        jest.clearAllMocks();
    });

    it('shows the ERP number, status and timeline Isthmus reports', async () => {
        getOrderStatus.mockResolvedValue(SUBMITTED);

        const element = await render();

        expect(getOrderStatus).toHaveBeenCalledWith({ orderId: ORDER_ID });
        expect($(element, 'erp-number').textContent).toBe('1000123');
        expect($(element, 'status').textContent).toBe('Booked in the ERP');
        expect($(element, 'status').className).toContain('slds-theme_success');
        const steps = $$(element, '[data-id="timeline"] li').map((li) => li.dataset.status);
        expect(steps).toEqual(['accepted', 'submitting', 'booked']);
        expect($(element, 'timeline').textContent).toContain('ERP order 1000123');
        expect($(element, 'confirmations').textContent).toContain('ITEM-0001');
        expect($(element, 'submit')).toBeNull();
    });

    it('lists the shipments, invoices and payments written back', async () => {
        getOrderStatus.mockResolvedValue(SUBMITTED);

        const element = await render();

        const shipment = $$(element, '[data-id="shipments"] li');
        expect(shipment).toHaveLength(1);
        expect(shipment[0].textContent).toContain('UPS · 1Z999');
        expect(shipment[0].querySelector('a').getAttribute('href')).toBe('/a01Sbx000000001AAA');
        const invoice = $$(element, '[data-id="invoices"] li');
        expect(invoice[0].querySelector('lightning-formatted-number').value).toBe(286.5);
        expect(invoice[0].querySelector('lightning-formatted-number').currencyCode).toBe('USD');
        expect($(element, 'payments')).toBeNull();
        expect($(element, 'no-payments').textContent).toBe('None yet');
    });

    it.each([
        ['retrying', 'Retrying', 'slds-theme_warning'],
        ['needs_attention', 'Needs attention', 'slds-theme_error'],
        ['rejected', 'Rejected by the ERP', 'slds-theme_error'],
        ['accepted', 'Accepted', 'slds-theme_info']
    ])('shows the %s status with its label and colour', async (status, label, theme) => {
        getOrderStatus.mockResolvedValue({
            ...SUBMITTED,
            order: {
                ...BOOKED,
                status,
                erpOrderNumber: null,
                failures:
                    status === 'needs_attention'
                        ? [
                              {
                                  category: 'credit',
                                  vendorCode: 'WCU0203',
                                  vendorMessage: 'Customer stopped',
                                  attempts: 3
                              }
                          ]
                        : []
            },
            erpOrderNumber: null
        });

        const element = await render();

        expect($(element, 'status').textContent).toBe(label);
        expect($(element, 'status').className).toContain(theme);
        expect($(element, 'erp-number').textContent).toBe('—');
        if (status === 'needs_attention') {
            expect($(element, 'failures').textContent).toBe('WCU0203 Customer stopped');
        }
    });

    it('offers to send an order Isthmus does not know, and shows the result', async () => {
        getOrderStatus.mockResolvedValueOnce(NOT_SENT).mockResolvedValueOnce(SUBMITTED);
        submitOrder.mockResolvedValue(BOOKED);
        const element = await render({ entity: 'US01' });
        expect($(element, 'status').textContent).toBe('Not sent');

        $(element, 'submit').click();
        await flush();

        expect(submitOrder).toHaveBeenCalledWith({ orderId: ORDER_ID, entity: 'US01' });
        expect(getOrderStatus).toHaveBeenCalledTimes(2);
        expect($(element, 'status').textContent).toBe('Booked in the ERP');
        expect($(element, 'submit')).toBeNull();
    });

    it('shows why an order could not be sent', async () => {
        getOrderStatus.mockResolvedValue(NOT_SENT);
        submitOrder.mockRejectedValue({
            body: {
                message: JSON.stringify({
                    code: 'validation_error',
                    title: 'Request failed validation',
                    detail: 'Unknown product SKU-9',
                    correlationId: 'sf-77',
                    fieldErrors: [{ pointer: '/lines/0/sku', detail: 'unknown' }],
                    retryable: false
                })
            }
        });
        const element = await render();

        $(element, 'submit').click();
        await flush();

        expect($(element, 'submit-problem').textContent).toContain('Unknown product SKU-9');
        expect($(element, 'submit-problem').textContent).toContain('sf-77');
        expect($(element, 'submit').disabled).toBe(false);
    });

    it('keeps showing the records when Isthmus cannot be asked', async () => {
        getOrderStatus.mockResolvedValue({
            ...RECORDS,
            submitted: false,
            order: null,
            problem: JSON.stringify({
                code: 'callout_failed',
                title: 'Isthmus could not be reached',
                detail: 'Read timed out',
                correlationId: 'sf-42',
                retryable: true
            })
        });

        const element = await render();

        expect($(element, 'gateway-problem').textContent).toContain('Read timed out');
        expect($(element, 'gateway-problem').textContent).toContain('sf-42');
        expect($(element, 'erp-number').textContent).toBe('1000123');
        expect($$(element, '[data-id="shipments"] li')).toHaveLength(1);
        expect($(element, 'submit')).toBeNull();
    });

    it('shows an error when the order cannot be read', async () => {
        getOrderStatus.mockRejectedValue({
            body: { message: 'Insufficient access to ERP_Shipment__c' }
        });

        const element = await render();

        expect($(element, 'problem').textContent).toContain(
            'Insufficient access to ERP_Shipment__c'
        );
        expect($(element, 'status')).toBeNull();
    });

    it('subscribes to the status Platform Event and shows it is live', async () => {
        getOrderStatus.mockResolvedValue(SUBMITTED);

        const element = await render();

        expect(subscribe).toHaveBeenCalledWith(
            '/event/ERP_Status_Event__e',
            -1,
            expect.any(Function)
        );
        expect(onError).toHaveBeenCalled();
        expect($(element, 'live')).not.toBeNull();
    });

    it('reads the order again when an event for it arrives', async () => {
        getOrderStatus.mockResolvedValueOnce(NOT_SENT).mockResolvedValueOnce(SUBMITTED);
        const element = await render();

        published()(
            event({
                Record_Id__c: ORDER_ID.substring(0, 15),
                Kind__c: 'order',
                Status__c: 'booked'
            })
        );
        await flush();

        expect(getOrderStatus).toHaveBeenCalledTimes(2);
        expect($(element, 'status').textContent).toBe('Booked in the ERP');
        expect($(element, 'last-event').textContent).toBe('Updated: order: booked');
    });

    it('ignores events about other records', async () => {
        getOrderStatus.mockResolvedValue(SUBMITTED);
        const element = await render();

        published()(
            event({ Record_Id__c: '801Sbx000000009AAA', Kind__c: 'order', Status__c: 'booked' })
        );
        published()({ data: {} });
        await flush();

        expect(getOrderStatus).toHaveBeenCalledTimes(1);
        expect($(element, 'last-event')).toBeNull();
    });

    it('stops listening when it leaves the page', async () => {
        getOrderStatus.mockResolvedValue(SUBMITTED);
        const element = await render();

        document.body.removeChild(element);

        expect(unsubscribe).toHaveBeenCalledWith(
            { id: 'sub-1', channel: '/event/ERP_Status_Event__e' },
            expect.any(Function)
        );
    });

    it('says nothing about live updates when the streaming API is unavailable', async () => {
        subscribe.mockRejectedValue(new Error('CometD unavailable'));
        getOrderStatus.mockResolvedValue(SUBMITTED);

        const element = await render();

        expect($(element, 'live')).toBeNull();
        expect($(element, 'status').textContent).toBe('Booked in the ERP');
    });

    it('refreshes on demand', async () => {
        getOrderStatus.mockResolvedValue(SUBMITTED);
        const element = await render();

        $(element, 'refresh').click();
        await flush();

        expect(getOrderStatus).toHaveBeenCalledTimes(2);
    });
});
