import type { Customer } from '../ipaas/customer-model.js';
import type { IpaasClient } from '../ipaas/ipaas-client.js';
import { ConnectorError } from '../shared/errors.js';

/** How a person or a webhook names a customer: its CustomerNumber or its iPaaS.com id. */
export type CustomerRef = { customerNumber: string } | { id: string };

export const refText = (ref: CustomerRef) => ('id' in ref ? `id ${ref.id}` : ref.customerNumber);

export async function loadCustomer(ipaas: IpaasClient, ref: CustomerRef): Promise<Customer> {
  const customer = 'id' in ref ? await ipaas.getCustomer(ref.id) : await ipaas.findCustomerByNumber(ref.customerNumber);
  if (!customer) {
    throw new ConnectorError('CUSTOMER_NOT_FOUND', `Customer ${'id' in ref ? `with id ${ref.id}` : ref.customerNumber} was not found in iPaaS.com.`, {
      fix: 'id' in ref ? 'Check the iPaaS.com customer id.' : 'Check the CustomerNumber (it is matched exactly) or sync by iPaaS.com id with --id.',
    });
  }
  return customer;
}

/** The seed: "Customer records must have a valid CustomerNumber"; without one nothing is sent. */
export function requireCustomerNumber(customer: Customer): string {
  if (customer.customerNumber) return customer.customerNumber;
  const name = [customer.firstName, customer.lastName].filter(Boolean).join(' ') || 'no name';
  throw new ConnectorError('MISSING_CUSTOMER_NUMBER', `Customer id ${customer.id} (${name}) has no CustomerNumber, so it cannot be sent to OpenAI: the CustomerNumber is the OpenAI request's Id.`, {
    fix: 'Fill in the Customer Number of this customer in iPaaS.com, then re-run the transfer.',
    details: { customerId: customer.id },
  });
}
