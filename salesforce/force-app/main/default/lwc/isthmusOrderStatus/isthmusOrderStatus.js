import { LightningElement, api } from 'lwc';
import { subscribe, unsubscribe, onError } from 'lightning/empApi';
import getOrderStatus from '@salesforce/apex/IsthmusController.getOrderStatus';
import submitOrder from '@salesforce/apex/IsthmusController.submitOrder';
import { themeClass, toProblem } from 'c/isthmusErrors';

export const CHANNEL = '/event/ERP_Status_Event__e';

const STATUS = {
    accepted: { label: 'Accepted', variant: 'info' },
    submitting: { label: 'Sending to the ERP', variant: 'info' },
    booked: { label: 'Booked in the ERP', variant: 'success' },
    rejected: { label: 'Rejected by the ERP', variant: 'error' },
    retrying: { label: 'Retrying', variant: 'warning' },
    needs_attention: { label: 'Needs attention', variant: 'error' }
};

const sameRecord = (a, b) => Boolean(a && b) && a.substring(0, 15) === b.substring(0, 15);

/**
 * An Order's life in the ERP, for the Order record page: the ERP order number, the status
 * timeline, line confirmations and failures from Isthmus, and the shipments, invoices and
 * payments Isthmus wrote back into the org. Refreshes when Isthmus publishes an
 * ERP_Status_Event__e for this order (lightning/empApi). All data comes from
 * IsthmusController.
 */
export default class IsthmusOrderStatus extends LightningElement {
    @api recordId;
    /** Legal entity used when sending the order (App Builder property); blank: the label. */
    @api entity;

    view;
    problem;
    submitProblem;
    loading = false;
    submitting = false;
    live = false;
    lastEvent;
    subscription;

    connectedCallback() {
        this.load();
        this.listen();
    }

    disconnectedCallback() {
        if (this.subscription) {
            unsubscribe(this.subscription, () => {});
            this.subscription = undefined;
        }
    }

    async listen() {
        onError(() => {
            this.live = false;
        });
        try {
            this.subscription = await subscribe(CHANNEL, -1, (message) =>
                this.handleEvent(message)
            );
            this.live = Boolean(this.subscription);
        } catch (error) {
            this.live = false;
        }
    }

    handleEvent(message) {
        const payload = message && message.data ? message.data.payload : undefined;
        if (!payload || !sameRecord(payload.Record_Id__c, this.recordId)) {
            return;
        }
        this.lastEvent = [payload.Kind__c, payload.Status__c].filter(Boolean).join(': ');
        this.load();
    }

    /** Reads the order again (the refresh button, an event, or a parent component). */
    @api
    async load() {
        this.loading = true;
        try {
            this.view = await getOrderStatus({ orderId: this.recordId });
            this.problem = undefined;
        } catch (error) {
            this.problem = toProblem(error);
        } finally {
            this.loading = false;
        }
    }

    handleRefresh() {
        this.load();
    }

    async handleSubmit() {
        this.submitting = true;
        this.submitProblem = undefined;
        try {
            await submitOrder({ orderId: this.recordId, entity: this.entity || null });
            await this.load();
        } catch (error) {
            this.submitProblem = toProblem(error);
        } finally {
            this.submitting = false;
        }
    }

    get hasView() {
        return Boolean(this.view);
    }

    get order() {
        return this.view && this.view.order ? this.view.order : undefined;
    }

    get hasOrder() {
        return Boolean(this.order);
    }

    get canSubmit() {
        return this.hasView && !this.view.submitted && !this.view.problem;
    }

    get erpOrderNumber() {
        return (
            (this.order && this.order.erpOrderNumber) ||
            (this.view && this.view.erpOrderNumber) ||
            '—'
        );
    }

    get statusLabel() {
        return this.order
            ? (STATUS[this.order.status] || { label: this.order.status }).label
            : 'Not sent';
    }

    get statusClass() {
        const variant = this.order ? (STATUS[this.order.status] || {}).variant : 'info';
        return `slds-badge ${themeClass(variant)}`;
    }

    get gatewayProblem() {
        return this.view && this.view.problem
            ? toProblem({ body: { message: this.view.problem } })
            : undefined;
    }

    get timeline() {
        return ((this.order && this.order.timeline) || []).map((entry, index) => ({
            key: `t-${index}`,
            ...entry,
            label: (STATUS[entry.status] || { label: entry.status }).label
        }));
    }

    get hasTimeline() {
        return this.timeline.length > 0;
    }

    get failures() {
        return ((this.order && this.order.failures) || []).map((failure, index) => ({
            key: `f-${index}`,
            ...failure,
            text:
                [failure.vendorCode, failure.vendorMessage].filter(Boolean).join(' ') ||
                failure.category
        }));
    }

    get hasFailures() {
        return this.failures.length > 0;
    }

    get confirmations() {
        return ((this.order && this.order.lines) || []).map((line) => ({
            key: `l-${line.lineNo}`,
            ...line
        }));
    }

    get hasConfirmations() {
        return this.confirmations.length > 0;
    }

    rows(kind) {
        return ((this.view && this.view[kind]) || []).map((row) => ({
            ...row,
            key: row.recordId,
            url: `/${row.recordId}`
        }));
    }

    get shipments() {
        return this.rows('shipments');
    }

    get invoices() {
        return this.rows('invoices');
    }

    get payments() {
        return this.rows('payments');
    }

    get hasShipments() {
        return this.shipments.length > 0;
    }

    get hasInvoices() {
        return this.invoices.length > 0;
    }

    get hasPayments() {
        return this.payments.length > 0;
    }
}
