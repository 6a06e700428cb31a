import { describeRef, entityModel, type IpaasRecord, type RecordRef } from '../ipaas/entities.js';
import type { IpaasClient } from '../ipaas/ipaas-client.js';
import { ConnectorError } from '../shared/errors.js';

export { refText, requireNumber, type RecordRef } from '../ipaas/entities.js';

/** The record a person or a webhook named, by its identity (CustomerNumber, SKU) or its iPaaS.com id. */
export async function loadRecord(ipaas: IpaasClient, ref: RecordRef): Promise<IpaasRecord> {
  const model = entityModel(ref.entity);
  const record = 'id' in ref ? await ipaas.getRecord(model, ref.id) : await ipaas.findByNumber(model, ref.customerNumber);
  if (!record) {
    const fix =
      'id' in ref
        ? `Check the iPaaS.com ${model.name} id.`
        : `Check the ${model.identity} (it is matched exactly) or sync by iPaaS.com id with --id${model.name === 'customer' ? '' : ` --entity ${model.name}`}.`;
    throw new ConnectorError(model.name === 'customer' ? 'CUSTOMER_NOT_FOUND' : 'RECORD_NOT_FOUND', `${describeRef(ref)} was not found in iPaaS.com.`, { fix });
  }
  return record;
}
