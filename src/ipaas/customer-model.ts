import { z } from 'zod';

/** Lenient remote shape: what iPaaS.com sends, extra keys tolerated. */
export const remoteCustomerSchema = z
  .object({
    id: z.union([z.number(), z.string()]),
    customer_number: z.string().nullish(),
    first_name: z.string().nullish(),
    last_name: z.string().nullish(),
    email_address: z.string().nullish(),
    company: z.string().nullish(),
    comment: z.string().nullish(),
    categories: z.array(z.string()).nullish(),
    updated_datetime: z.string().nullish(),
    custom_fields: z
      .array(z.object({ custom_field_name: z.string(), value: z.string().nullish() }).loose())
      .nullish(),
  })
  .loose();
export type RemoteCustomer = z.infer<typeof remoteCustomerSchema>;

/** Strict internal model the pipeline works with. Addresses and other child collections are dropped here on purpose. */
export interface Customer {
  id: string;
  customerNumber: string | null;
  firstName: string | null;
  lastName: string | null;
  emailAddress: string | null;
  company: string | null;
  comment: string | null;
  categories: string[];
  /** Custom field values by the definition's name. */
  customFields: Record<string, string>;
  updatedAt: string | null;
}

const blankToNull = (v: string | null | undefined): string | null => (v == null || v.trim() === '' ? null : v);

export function toCustomer(remote: RemoteCustomer): Customer {
  const customFields: Record<string, string> = {};
  for (const cf of remote.custom_fields ?? []) if (cf.value != null) customFields[cf.custom_field_name] = cf.value;
  return {
    id: String(remote.id),
    customerNumber: blankToNull(remote.customer_number),
    firstName: blankToNull(remote.first_name),
    lastName: blankToNull(remote.last_name),
    emailAddress: blankToNull(remote.email_address),
    company: blankToNull(remote.company),
    comment: blankToNull(remote.comment),
    categories: remote.categories ?? [],
    customFields,
    updatedAt: remote.updated_datetime ?? null,
  };
}

/** The standard customer fields mappings can name, with how to read them. */
export const STANDARD_FIELDS = {
  CustomerNumber: (c: Customer) => c.customerNumber,
  FirstName: (c: Customer) => c.firstName,
  LastName: (c: Customer) => c.lastName,
  EmailAddress: (c: Customer) => c.emailAddress,
  Company: (c: Customer) => c.company,
  Comment: (c: Customer) => c.comment,
  Categories: (c: Customer) => c.categories,
} as const satisfies Record<string, (c: Customer) => unknown>;
export type StandardField = keyof typeof STANDARD_FIELDS;

export function isStandardField(name: string): name is StandardField {
  return Object.prototype.hasOwnProperty.call(STANDARD_FIELDS, name);
}

/** Standard fields the connector may write back (least power: only the one the seed names). */
export const WRITABLE_STANDARD_FIELDS = { Comment: 'comment' } as const satisfies Partial<Record<StandardField, string>>;

/** A partial update as iPaaS.com's PUT takes it. */
export interface CustomerPatch {
  comment?: string;
  custom_fields?: Array<{ custom_field_name: string; value: string }>;
}

export const customFieldDefinitionSchema = z
  .object({ id: z.union([z.number(), z.string()]).optional(), name: z.string(), data_type: z.string(), description: z.string().nullish() })
  .loose();
export type CustomFieldDefinition = z.infer<typeof customFieldDefinitionSchema>;

export const paginationSchema = z
  .object({ current_Page: z.number(), total_Pages: z.number(), total_Count: z.number().optional(), page_Size: z.number().optional() })
  .loose();
export type Pagination = z.infer<typeof paginationSchema>;

export const webhookSchema = z.object({ id: z.union([z.number(), z.string()]), scope: z.string(), destination_url: z.string().nullish() }).loose();
export type WebhookSubscription = z.infer<typeof webhookSchema>;
