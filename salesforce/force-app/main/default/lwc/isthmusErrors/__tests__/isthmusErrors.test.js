import { themeClass, toProblem } from 'c/isthmusErrors';

describe('c/isthmusErrors', () => {
    it('reads the JSON an IsthmusException becomes', () => {
        const problem = toProblem({
            body: {
                message: JSON.stringify({
                    code: 'backend_timeout',
                    statusCode: 504,
                    title: 'The ERP did not answer in time',
                    detail: 'Infor M3 timed out',
                    correlationId: 'sf-42',
                    fieldErrors: [],
                    retryable: true,
                    retryAfterSeconds: null
                })
            }
        });

        expect(problem).toEqual({
            code: 'backend_timeout',
            statusCode: 504,
            title: 'The ERP did not answer in time',
            detail: 'Infor M3 timed out',
            correlationId: 'sf-42',
            fieldErrors: [],
            retryable: true,
            retryAfterSeconds: null
        });
    });

    it.each([
        [{ body: [{ message: 'first' }, { message: 'second' }] }, 'first, second'],
        [{ body: { pageErrors: [{ message: 'Page error' }] } }, 'Page error'],
        [{ message: 'Failed to fetch' }, 'Failed to fetch'],
        ['plain text', 'plain text'],
        [{ body: { message: '{not json' } }, '{not json'],
        [undefined, 'Unknown error']
    ])('turns %p into a plain problem', (error, detail) => {
        const problem = toProblem(error);

        expect(problem.code).toBe('unknown');
        expect(problem.detail).toBe(detail);
        expect(problem.retryable).toBe(true);
        expect(problem.fieldErrors).toEqual([]);
    });

    it('maps gateway variants to SLDS themes', () => {
        expect(themeClass('success')).toBe('slds-theme_success');
        expect(themeClass('warning')).toBe('slds-theme_warning');
        expect(themeClass('error')).toBe('slds-theme_error');
        expect(themeClass(undefined)).toBe('slds-theme_info');
    });
});
